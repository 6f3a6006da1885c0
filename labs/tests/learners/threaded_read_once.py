# The "build your own HTTP server" stage where a thread per connection has just been added:
# every client gets its own thread, but each request is still read with a single recv().
import socket, sys, threading

def serve(conn):
    data = conn.recv(1024).decode()
    first = data.split("\r\n")[0].split(" ")
    path = first[1] if len(first) > 1 else "/"
    if path.startswith("/echo/"):
        word = path[len("/echo/"):]
        reply = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(word)}\r\n\r\n{word}"
    elif path == "/":
        reply = "HTTP/1.1 200 OK\r\n\r\n"
    else:
        reply = "HTTP/1.1 404 Not Found\r\n\r\n"
    conn.sendall(reply.encode())
    conn.close()

listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
