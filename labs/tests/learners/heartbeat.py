# Lab 2's optional heartbeat client: one datagram a second, `Heartbeat <seq> <time>`, where the
# time is time.time(); the server may compute the one-way delay from it. No reply is awaited.
import sys
import time
from socket import *

serverName, serverPort = sys.argv[1], int(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_DGRAM)
for seq in range(1, 6):
    message = "Heartbeat " + str(seq) + " " + str(time.time())
    clientSocket.sendto(message.encode(), (serverName, serverPort))
    time.sleep(1)
clientSocket.close()
