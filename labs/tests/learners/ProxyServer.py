# Lab 4: a web proxy server, as learners finish the skeleton: one client at a time, the URL
# taken apart by hand, the request sent on as HTTP/1.0, the origin's answer read until the
# origin closes, kept in a dictionary by URL, and relayed to the client.
from socket import *
import sys

tcpSerSock = socket(AF_INET, SOCK_STREAM)
tcpSerSock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
tcpSerSock.bind(('127.0.0.1', int(sys.argv[1])))
tcpSerSock.listen(5)
cache = {}

while 1:
    # Start receiving data from the client
    print('Ready to serve...')
    tcpCliSock, addr = tcpSerSock.accept()
    print('Received a connection from:', addr)
    message = tcpCliSock.recv(4096).decode()
    print(message)
    # Extract the URL from the given message:
    # GET http://host:port/path or GET /host:port/path (the lab's way)
    url = message.split()[1]
    url = url.replace('http://', '', 1).lstrip('/')
    hostport, _, path = url.partition('/')
    path = '/' + path
    hostn, _, port = hostport.partition(':')
    port = int(port) if port else 80
    if url in cache:
        # ProxyServer finds a cache hit and generates a response message
        tcpCliSock.send(cache[url])
        print('Read from cache')
    else:
        # Create a socket on the proxyserver
        c = socket(AF_INET, SOCK_STREAM)
        try:
            # Connect to the socket to the port given in the URL
            c.connect((hostn, port))
            request = 'GET ' + path + ' HTTP/1.0\r\nHost: ' + hostport + '\r\n\r\n'
            c.send(request.encode())
            # Read the response until the origin closes
            response = b''
            while True:
                data = c.recv(4096)
                if not data:
                    break
                response += data
            c.close()
            cache[url] = response
            tcpCliSock.send(response)
        except OSError:
            print('Illegal request')
    # Close the client socket
    tcpCliSock.close()
