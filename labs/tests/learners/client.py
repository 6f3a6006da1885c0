# Lab 1's optional client: connect, send one GET for the file named on the command line, print
# whatever the server answers until it closes.
#
#   python3 client.py SERVER_HOST SERVER_PORT FILENAME
from socket import *
import sys

serverHost, serverPort, filename = sys.argv[1], int(sys.argv[2]), sys.argv[3]
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverHost, serverPort))
request = "GET /" + filename + " HTTP/1.1\r\nHost: " + serverHost + "\r\n\r\n"
clientSocket.send(request.encode())
response = b""
while True:
    data = clientSocket.recv(1024)
    if not data:
        break
    response += data
print(response.decode())
clientSocket.close()
