/* A C server that serves / and /echo/TEXT (percent-decoded), one connection at a time, and
 * dereferences a null pointer on its third request (a learner's off-by-one in a table of
 * connections): it passes every step of two requests and dies in the first with three. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(server, 8) < 0) {
        perror("bind");
        return 1;
    }
    char *slots[2] = {"first", "second"};
    int served = 0;
    for (;;) {
        int conn = accept(server, NULL, NULL);
        char buf[4096] = {0};
        int n = recv(conn, buf, sizeof buf - 1, 0);
        if (n <= 0) { close(conn); continue; }
        fprintf(stderr, "request %d uses slot %s\n", served + 1, served < 2 ? slots[served] : "?");
        char *slot = served < 2 ? slots[served] : NULL;
        served++;
        if (slot[0] == 0) return 2; /* the third request: slot is NULL */
        char path[1024] = {0};
        sscanf(buf, "%*s %1023s", path);
        char out[2048];
        if (strncmp(path, "/echo/", 6) == 0) {
            char text[1024] = {0};
            size_t len = 0;
            for (char *p = path + 6; *p; p++) {
                unsigned int byte;
                if (*p == '%' && sscanf(p + 1, "%2x", &byte) == 1) {
                    text[len++] = (char)byte;
                    p += 2;
                } else {
                    text[len++] = *p;
                }
            }
            snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s", len, text);
        } else if (strcmp(path, "/") == 0) {
            snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        } else {
            snprintf(out, sizeof out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
        send(conn, out, strlen(out), 0);
        close(conn);
    }
}
