/* udpconn [--wait-at 1]: a connected UDP socket keeps its address, its
 * peer and its filter. A "server" UDP socket is bound to 127.0.0.1 (port
 * 0), a "client" connected to it (which binds it to a port of its own);
 * one datagram each way. After wait point 1 (dumped there) it checks the
 * client's local and peer addresses are the same, one more datagram each
 * way, and that a datagram from a third socket never reaches the client
 * (a connected UDP socket takes datagrams from its peer only). Prints one
 * line per check and "result OK"; exits 1 with a FAIL line. */
#include "common.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void exchange(int client, int server, const char *there, const char *back)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	char buf[64];
	ssize_t n;

	if (send(client, there, strlen(there), 0) < 0)
		FAIL("send: %s", strerror(errno));
	n = recvfrom(server, buf, sizeof(buf) - 1, 0, (void *)&from, &len);
	if (n < 0 || (buf[n] = 0, strcmp(buf, there)))
		FAIL("the server got %zd bytes, not %s", n, there);
	if (sendto(server, back, strlen(back), 0, (void *)&from, len) < 0)
		FAIL("sendto: %s", strerror(errno));
	n = recv(client, buf, sizeof(buf) - 1, 0);
	if (n < 0 || (buf[n] = 0, strcmp(buf, back)))
		FAIL("the client got %zd bytes, not %s", n, back);
	printf("exchanged %s and %s\n", there, back);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, local, peer, now;
	socklen_t len = sizeof(srv);
	int server = socket(AF_INET, SOCK_DGRAM, 0), client = socket(AF_INET, SOCK_DGRAM, 0);
	if (server < 0 || client < 0 || bind(server, (void *)&srv, len) || getsockname(server, (void *)&srv, &len))
		FAIL("server: %s", strerror(errno));
	if (connect(client, (void *)&srv, len))
		FAIL("connect: %s", strerror(errno));
	len = sizeof(local);
	getsockname(client, (void *)&local, &len);
	exchange(client, server, "one", "back one");
	printf("ready\n");
	wait_point(1);
	len = sizeof(now);
	if (getsockname(client, (void *)&now, &len) || now.sin_port != local.sin_port || now.sin_addr.s_addr != local.sin_addr.s_addr)
		FAIL("the client's local address changed");
	len = sizeof(peer);
	if (getpeername(client, (void *)&peer, &len) || peer.sin_port != srv.sin_port || peer.sin_addr.s_addr != srv.sin_addr.s_addr)
		FAIL("the client's peer changed: %s", strerror(errno));
	printf("same local address and peer\n");
	exchange(client, server, "two", "back two");
	/* From a stranger: filtered out by the connect. */
	int other = socket(AF_INET, SOCK_DGRAM, 0);
	if (other < 0 || sendto(other, "x", 1, 0, (void *)&local, sizeof(local)) < 0)
		FAIL("stranger: %s", strerror(errno));
	exchange(client, server, "three", "back three");
	char buf[8];
	if (recv(client, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		FAIL("a stranger's datagram reached the connected client");
	printf("a stranger's datagram is filtered out\n");
	printf("result OK\n");
	return 0;
}
