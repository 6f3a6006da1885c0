"""A small, mostly correct HTTP/1.1 server of the kind a learner writes, with switches that
break it in one way each. Used by labs' tests to check that each break fails the right step."""
import gzip, os, socket, sys, threading, urllib.parse

def serve(port, files_dir, bare_lf=False, extra_length=0, keep_alive=True, check_host=True, reason=True, trailer=b"", length=True):
    eol = b"\n" if bare_lf else b"\r\n"
    def respond(conn, status, body=b"", fields=(), close=False):
        if not reason:
            status = status.split(" ")[0]
        head = b"HTTP/1.1 " + status.encode() + eol
        for name, value in fields:
            head += name.encode() + b": " + value.encode() + eol
        if length:
            head += b"Content-Length: " + str(len(body) + extra_length).encode() + eol
        if close:
            head += b"Connection: close" + eol
        conn.sendall(head + eol + body + trailer)

    def handle(conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                    if len(buf) > 32768:
                        respond(conn, "431 Request Header Fields Too Large", close=True)
                        return
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                parts = lines[0].split(b" ")
                if len(parts) != 3:
                    respond(conn, "400 Bad Request", b"bad request line", close=True)
                    return
                method, target, version = parts
                if version not in (b"HTTP/1.1", b"HTTP/1.0"):
                    respond(conn, "505 HTTP Version Not Supported", close=True)
                    return
                fields = {}
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    fields[name.strip().lower()] = value.strip()
                if check_host and version == b"HTTP/1.1" and b"host" not in fields:
                    respond(conn, "400 Bad Request", b"no Host", close=True)
                    return
                length = int(fields.get(b"content-length", b"0"))
                while len(buf) < length:
                    buf += conn.recv(65536)
                body, buf = buf[:length], buf[length:]
                close = (not keep_alive) or fields.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0"
                path, _, query = target.decode().partition("?")
                path = urllib.parse.unquote(path)
                if path == "/":
                    respond(conn, "200 OK", close=close)
                elif path.startswith("/echo/"):
                    text = path[len("/echo/"):].encode()
                    if b"gzip" in fields.get(b"accept-encoding", b""):
                        respond(conn, "200 OK", gzip.compress(text), [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")], close)
                    else:
                        respond(conn, "200 OK", text, [("Content-Type", "text/plain")], close)
                elif path == "/user-agent":
                    respond(conn, "200 OK", fields.get(b"user-agent", b""), [("Content-Type", "text/plain")], close)
                elif path.startswith("/files/"):
                    name = path[len("/files/"):]
                    try:
                        with open(os.path.join(files_dir, name), "rb") as f:
                            respond(conn, "200 OK", f.read(), [("Content-Type", "application/octet-stream")], close)
                    except OSError:
                        respond(conn, "404 Not Found", b"no such file", close=close)
                else:
                    respond(conn, "404 Not Found", b"not found", close=close)
                if close:
                    return
        except OSError:
            pass
        finally:
            conn.close()

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
