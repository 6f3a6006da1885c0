# Lab 2's server, as the textbook hands it out, with the port from the command line instead of
# 12000: it upper-cases each ping and drops about 30% of them to simulate loss.
import random
import sys
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', int(sys.argv[1])))

while True:
    rand = random.randint(0, 10)
    message, address = serverSocket.recvfrom(1024)
    message = message.upper()
    if rand < 4:
        continue
    serverSocket.sendto(message, address)
