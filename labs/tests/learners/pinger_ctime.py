# UDP pinger client, lab 2 style: the time in each ping is time.ctime(),
# e.g. "Ping 1 Mon Dec  7 03:14:54 2026" (a clock string with spaces in it).
from socket import *
import sys
import time

serverName = sys.argv[1]
serverPort = int(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(1)

for i in range(1, 11):
    message = "Ping " + str(i) + " " + time.ctime()
    start = time.time()
    clientSocket.sendto(message.encode(), (serverName, serverPort))
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(1024)
        rtt = time.time() - start
        print(modifiedMessage.decode(), "RTT:", rtt)
    except timeout:
        print("Request timed out")

clientSocket.close()
