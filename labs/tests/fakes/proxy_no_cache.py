"""A forward proxy that relays absolute-form requests correctly but never caches."""
import socket, sys, threading, urllib.parse

def handle(client):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = client.recv(65536)
            if not data:
                return
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        method, target, version = lines[0].split(b" ")
        url = urllib.parse.urlsplit(target.decode())
        upstream = socket.create_connection((url.hostname, url.port or 80))
        path = url.path or "/"
        out = method + b" " + path.encode() + b" HTTP/1.1\r\nHost: " + url.netloc.encode() + b"\r\nConnection: close\r\n"
        for line in lines[1:]:
            name = line.split(b":", 1)[0].strip().lower()
            if name not in (b"host", b"connection", b"proxy-connection"):
                out += line + b"\r\n"
        upstream.sendall(out + b"\r\n" + rest)
        while True:
            data = upstream.recv(65536)
            if not data:
                break
            client.sendall(data)
        upstream.close()
    except OSError:
        pass
    finally:
        client.close()

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
