# UDP pinger client, lab 2 style: the time in each ping is datetime.now(),
# e.g. "Ping 1 2026-12-06 21:00:12.345678". It prints the statistics at the end.
from socket import *
from datetime import datetime
import sys
import time

serverName = sys.argv[1]
serverPort = int(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(1)
rtts = []

for sequence_number in range(1, 11):
    message = f"Ping {sequence_number} {datetime.now()}"
    start = time.time()
    clientSocket.sendto(message.encode(), (serverName, serverPort))
    try:
        data, server = clientSocket.recvfrom(1024)
        rtt = (time.time() - start) * 1000
        rtts.append(rtt)
        print(f"{data.decode()}  rtt={rtt:.3f} ms")
    except timeout:
        print(f"Ping {sequence_number}: Request timed out")

if rtts:
    print(f"rtt min/avg/max = {min(rtts):.3f}/{sum(rtts) / len(rtts):.3f}/{max(rtts):.3f} ms")
print(f"packet loss: {100 * (10 - len(rtts)) / 10:.0f}%")
clientSocket.close()
