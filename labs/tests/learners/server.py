# The HTTP server track, finished: what a learner has at the last stage of the "build your own
# HTTP server" tutorials. A thread per connection, a buffer per connection (so requests may
# arrive in pieces or several at once), keep-alive, and files from the folder it is given.
#
#   python3 server.py PORT FILES_DIR
import gzip
import hashlib
import os
import socket
import sys
import threading
import urllib.parse
from email.utils import formatdate, parsedate_to_datetime

PORT = int(sys.argv[1])
FILES = sys.argv[2] if len(sys.argv) > 2 else "files"
MAX_HEAD = 64 * 1024
TYPES = {
    ".html": "text/html", ".css": "text/css", ".js": "text/javascript",
    ".txt": "text/plain", ".png": "image/png", ".jpg": "image/jpeg",
    ".json": "application/json",
}
REASONS = {
    200: "OK", 201: "Created", 206: "Partial Content", 304: "Not Modified",
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    416: "Range Not Satisfiable", 431: "Request Header Fields Too Large",
    505: "HTTP Version Not Supported",
}


class BadRequest(Exception):
    def __init__(self, status):
        self.status = status


def accepts_gzip(value):
    for part in value.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == "gzip":
            q = params.strip()
            return not (q.startswith("q=") and float(q[2:] or 0) == 0)
    return False


def file_path(name):
    """The file for /files/NAME, or None when NAME would leave the folder."""
    parts = name.split("/")
    if any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        return None
    path = os.path.realpath(os.path.join(FILES, *parts))
    if not path.startswith(os.path.realpath(FILES) + os.sep):
        return None
    return path


class Connection:
    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    def fill(self):
        data = self.conn.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def read_head(self):
        # Read the whole head, however long, then refuse one that is too long: answering
        # before the client has sent it all would reset the connection under the answer.
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 16 * MAX_HEAD:
                raise BadRequest(431)
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if len(head) > MAX_HEAD:
            raise BadRequest(431)
        return head.decode("latin-1")

    def read_exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_chunked(self):
        body = b""
        while True:
            size = int(self.read_line().split(b";")[0], 16)
            if size == 0:
                while self.read_line():
                    pass  # trailer fields
                return body
            body += self.read_exactly(size)
            self.read_line()

    def send(self, status, body=b"", fields=None, close=False, head_only=False):
        fields = dict(fields or {})
        fields.setdefault("Content-Length", str(len(body)))
        fields["Date"] = formatdate(usegmt=True)
        fields["Server"] = "server.py/1.0"
        if close:
            fields["Connection"] = "close"
        out = "HTTP/1.1 %d %s\r\n" % (status, REASONS[status])
        out += "".join("%s: %s\r\n" % kv for kv in fields.items()) + "\r\n"
        self.conn.sendall(out.encode("latin-1") + (b"" if head_only else body))

    def send_chunked(self, pieces, close):
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
        head += "Date: %s\r\nServer: server.py/1.0\r\n" % formatdate(usegmt=True)
        if close:
            head += "Connection: close\r\n"
        self.conn.sendall((head + "\r\n").encode())
        for piece in pieces:
            self.conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.conn.sendall(b"0\r\n\r\n")


def serve_file(c, method, path, headers, close):
    full = file_path(path)
    if full is None:
        return c.send(404, b"not found\n", close=close)
    if method == "POST":
        with open(full, "wb") as f:
            f.write(headers["body"])
        return c.send(201, b"created\n", close=close)
    try:
        with open(full, "rb") as f:
            data = f.read()
    except OSError:
        return c.send(404, b"not found\n", close=close)
    mtime = os.path.getmtime(full)
    fields = {
        "Content-Type": TYPES.get(os.path.splitext(full)[1].lower(), "application/octet-stream"),
        "ETag": '"%s"' % hashlib.sha1(data).hexdigest()[:16],
        "Last-Modified": formatdate(mtime, usegmt=True),
    }
    if headers.get("if-none-match") == fields["ETag"]:
        return c.send(304, fields={"ETag": fields["ETag"], "Content-Length": "0"}, close=close)
    since = headers.get("if-modified-since")
    if since and "if-none-match" not in headers:
        try:
            if int(mtime) <= parsedate_to_datetime(since).timestamp():
                return c.send(304, fields={"Content-Length": "0"}, close=close)
        except (TypeError, ValueError):
            pass
    wanted = headers.get("range", "")
    if wanted.startswith("bytes=") and "," not in wanted:
        first, _, last = wanted[6:].partition("-")
        size = len(data)
        if first == "":
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            return c.send(416, fields={"Content-Range": "bytes */%d" % size}, close=close)
        fields["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        return c.send(206, data[start:end + 1], fields, close, method == "HEAD")
    c.send(200, data, fields, close, method == "HEAD")


def answer(c, method, target, version, headers):
    close = headers.get("connection", "").lower() == "close" or (
        version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive")
    raw_path, _, query = target.partition("?")
    if "%" in raw_path:
        for i in range(len(raw_path)):
            if raw_path[i] == "%" and not all(
                    ch in "0123456789abcdefABCDEF" for ch in raw_path[i + 1:i + 3].ljust(2, "x")):
                raise BadRequest(400)
    head_only = method == "HEAD"
    if raw_path.startswith("/files/"):
        # Decoded segment by segment: an encoded slash stays inside its segment.
        name = "/".join(urllib.parse.unquote(s, errors="strict")
                        for s in raw_path[len("/files/"):].split("/"))
        return serve_file(c, method, name, headers, close)
    path = urllib.parse.unquote(raw_path, errors="strict")
    text = {"Content-Type": "text/plain"}
    if path == "/":
        return c.send(200, b"", close=close, head_only=head_only)
    if path.startswith("/echo/"):
        body = path[len("/echo/"):].encode()
        if accepts_gzip(headers.get("accept-encoding", "")):
            return c.send(200, gzip.compress(body),
                          dict(text, **{"Content-Encoding": "gzip"}), close, head_only)
        return c.send(200, body, text, close, head_only)
    if path == "/user-agent":
        return c.send(200, headers.get("user-agent", "").encode(), text, close, head_only)
    if path == "/params":
        lines = "".join("%s=%s\n" % kv for kv in urllib.parse.parse_qsl(query))
        return c.send(200, lines.encode(), text, close, head_only)
    if path.startswith("/chunked/"):
        count = int(path[len("/chunked/"):])
        return c.send_chunked([b"chunk %d\n" % n for n in range(1, count + 1)], close)
    c.send(404, b"not found\n", close=close, head_only=head_only)
    return None


def handle(conn):
    c = Connection(conn)
    try:
        while True:
            try:
                head = c.read_head()
                lines = head.split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    raise BadRequest(400)
                method, target, version = parts
                if version not in ("HTTP/1.0", "HTTP/1.1"):
                    raise BadRequest(505)
                headers = {}
                for line in lines[1:]:
                    name, colon, value = line.partition(":")
                    if not colon:
                        raise BadRequest(400)
                    headers[name.strip().lower()] = value.strip(" \t")
                if version == "HTTP/1.1" and "host" not in headers:
                    raise BadRequest(400)
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    headers["body"] = c.read_chunked()
                else:
                    headers["body"] = c.read_exactly(int(headers.get("content-length", "0")))
                answer(c, method, target, version, headers)
                if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
                    return
            except (BadRequest, UnicodeDecodeError, ValueError) as e:
                status = e.status if isinstance(e, BadRequest) else 400
                c.send(status, b"bad request\n", close=True)
                return
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", PORT))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
