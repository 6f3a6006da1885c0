# An HTTP server at an early stage: it answers 200 for / and 404 for anything else, reading
# the request once and taking the path as the second word. An empty read kills it.
import socket, sys

server = socket.create_server(("127.0.0.1", int(sys.argv[1])), reuse_port=True)
while True:
    conn, _ = server.accept()
    request = conn.recv(1024).decode()
    path = request.split(" ")[1]
    if path == "/":
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    else:
        conn.sendall(b"HTTP/1.1 404 Not Found\r\n\r\n")
    conn.close()
