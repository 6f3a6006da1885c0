"""python3 http_broken.py MODE PORT DIR: the common server with one break (see http_common)."""
import sys
from http_common import serve

mode, port, files_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
options = {
    "bare-lf": dict(bare_lf=True),
    "wrong-length": dict(extra_length=2),
    "no-keep-alive": dict(keep_alive=False),
    "no-host-check": dict(check_host=False),
    "no-reason-space": dict(reason=False),
    "crlf-after-body": dict(trailer=b"\r\n"),
    "no-length": dict(length=False),
}[mode]
serve(port, files_dir, **options)
