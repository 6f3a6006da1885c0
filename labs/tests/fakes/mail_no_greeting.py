"""A mail client that speaks before the server's 220 greeting (and otherwise behaves)."""
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port))
s.sendall(b"HELO Alice\r\n")
f = s.makefile("rb")
def expect(code):
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    assert line.startswith(code), line
expect(b"220")
expect(b"250")
for command, code in [(b"MAIL FROM:<alice@example.com>\r\n", b"250"), (b"RCPT TO:<bob@example.com>\r\n", b"250"),
                      (b"DATA\r\n", b"354"), (b"Subject: hi\r\n\r\nI love computer networks!\r\n.\r\n", b"250"), (b"QUIT\r\n", b"221")]:
    s.sendall(command)
    expect(code)
