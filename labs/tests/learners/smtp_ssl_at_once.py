# A mail client written for port 465: the socket is wrapped in TLS before it connects, so the
# first thing it sends is a TLS ClientHello (as smtplib.SMTP_SSL does). Certificate checks are
# off, as the lab tells learners to do for labs' own certificate.
from socket import *
import ssl
import sys

mailserver = (sys.argv[1], int(sys.argv[2]))

context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
clientSocket = context.wrap_socket(socket(AF_INET, SOCK_STREAM), server_hostname=sys.argv[1])
clientSocket.connect(mailserver)

recv = clientSocket.recv(1024).decode()
print(recv)
heloCommand = 'HELO Alice\r\n'
clientSocket.send(heloCommand.encode())
print(clientSocket.recv(1024).decode())
clientSocket.send("QUIT\r\n".encode())
print(clientSocket.recv(1024).decode())
clientSocket.close()
