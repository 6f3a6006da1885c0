"""A pinger client that never times out: it waits forever for each reply."""
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for seq in range(1, 11):
    s.sendto(f"Ping {seq} {time.time()}".encode(), (host, port))
    reply, _ = s.recvfrom(1024)
    print(reply.decode())
