/* unbound [--wait-at 1]: sockets that were created but never bound or
 * connected (a program that makes its sockets early, a pool of spares)
 * come back as such sockets, with their options and flags. Made: a TCP
 * socket with SO_REUSEADDR, a nonblocking UDP socket, an IPv6 TCP socket
 * with IPV6_V6ONLY, unix stream and datagram sockets. After wait point 1
 * (dumped there) it checks each: its family and type (SO_DOMAIN,
 * SO_TYPE), still unbound (getsockname: port 0, or a unix name of no
 * bytes), its options and O_NONBLOCK; then uses each as it would have:
 * the TCP one binds to loopback and takes a connection, the UDP one sends
 * a datagram to a server, the IPv6 one connects to an IPv6 listener, the
 * unix stream one connects to a unix listener, the unix datagram one
 * binds to an abstract name and receives. Prints one line per check and
 * "result OK"; exits 1 with a FAIL line. */
#include "common.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

static int opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len))
		FAIL("getsockopt %d/%d on fd %d: %s", level, name, fd, strerror(errno));
	return v;
}

/* fd is a socket of `domain` and `type`, not bound. */
static void still_unbound(const char *what, int fd, int domain, int type)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (opt(fd, SOL_SOCKET, SO_DOMAIN) != domain || opt(fd, SOL_SOCKET, SO_TYPE) != type)
		FAIL("%s: family %d type %d, not %d %d", what, opt(fd, SOL_SOCKET, SO_DOMAIN), opt(fd, SOL_SOCKET, SO_TYPE), domain, type);
	if (getsockname(fd, (void *)&a, &len))
		FAIL("%s: getsockname: %s", what, strerror(errno));
	if (domain == AF_UNIX ? len != sizeof(sa_family_t) : ((struct sockaddr_in *)&a)->sin_port != 0)
		FAIL("%s: bound (name of %u bytes)", what, len);
	printf("%s: an unbound socket of its family and type\n", what);
}

static int listener(int domain, struct sockaddr *a, socklen_t len)
{
	int l = socket(domain, SOCK_STREAM, 0);

	if (l < 0 || bind(l, a, len) || listen(l, 4) || getsockname(l, a, &len))
		FAIL("listener of family %d: %s", domain, strerror(errno));
	return l;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int one = 1;
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int tcp6 = socket(AF_INET6, SOCK_STREAM, 0);
	int ustream = socket(AF_UNIX, SOCK_STREAM, 0);
	int udgram = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (tcp < 0 || udp < 0 || tcp6 < 0 || ustream < 0 || udgram < 0)
		FAIL("socket: %s", strerror(errno));
	if (setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) || setsockopt(tcp6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		FAIL("setsockopt: %s", strerror(errno));
	printf("ready\n");
	wait_point(1);

	still_unbound("tcp", tcp, AF_INET, SOCK_STREAM);
	still_unbound("udp", udp, AF_INET, SOCK_DGRAM);
	still_unbound("tcp6", tcp6, AF_INET6, SOCK_STREAM);
	still_unbound("unix stream", ustream, AF_UNIX, SOCK_STREAM);
	still_unbound("unix datagram", udgram, AF_UNIX, SOCK_DGRAM);
	if (!opt(tcp, SOL_SOCKET, SO_REUSEADDR) || opt(udp, SOL_SOCKET, SO_REUSEADDR))
		FAIL("SO_REUSEADDR not as it was");
	if (!opt(tcp6, IPPROTO_IPV6, IPV6_V6ONLY))
		FAIL("IPV6_V6ONLY lost");
	if (!(fcntl(udp, F_GETFL) & O_NONBLOCK) || (fcntl(tcp, F_GETFL) & O_NONBLOCK))
		FAIL("O_NONBLOCK not as it was");
	printf("options and flags as they were\n");

	/* The TCP socket serves on loopback. */
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a4);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(tcp, (void *)&a4, len) || listen(tcp, 4) || getsockname(tcp, (void *)&a4, &len) || c < 0 || connect(c, (void *)&a4, len))
		FAIL("tcp: %s", strerror(errno));
	int s = accept(tcp, NULL, NULL);
	if (s < 0 || write(c, "x", 1) != 1)
		FAIL("tcp accept: %s", strerror(errno));
	char b = 0;
	if (read(s, &b, 1) != 1 || b != 'x')
		FAIL("tcp: no byte");
	printf("tcp: listens and takes a connection\n");

	/* The UDP socket sends (it binds on the way). */
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	len = sizeof(srv);
	int server = socket(AF_INET, SOCK_DGRAM, 0);
	if (server < 0 || bind(server, (void *)&srv, len) || getsockname(server, (void *)&srv, &len))
		FAIL("udp server: %s", strerror(errno));
	if (sendto(udp, "y", 1, 0, (void *)&srv, len) != 1 || recv(server, &b, 1, 0) != 1 || b != 'y')
		FAIL("udp: %s", strerror(errno));
	printf("udp: sends a datagram\n");

	/* The IPv6 one connects to an IPv6 listener. */
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int l6 = listener(AF_INET6, (void *)&a6, sizeof(a6));
	if (connect(tcp6, (void *)&a6, sizeof(a6)))
		FAIL("tcp6 connect: %s", strerror(errno));
	close(l6);
	printf("tcp6: connects\n");

	/* The unix stream one connects to a listener on an abstract name. */
	struct sockaddr_un u = { .sun_family = AF_UNIX };
	snprintf(u.sun_path + 1, sizeof(u.sun_path) - 1, "unbound-%d", getpid());
	socklen_t ulen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(u.sun_path + 1);
	int ul = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ul < 0 || bind(ul, (void *)&u, ulen) || listen(ul, 1) || connect(ustream, (void *)&u, ulen))
		FAIL("unix stream: %s", strerror(errno));
	printf("unix stream: connects\n");

	/* The unix datagram one binds to a name and receives. */
	u.sun_path[1] = 'U';
	int us = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (bind(udgram, (void *)&u, ulen) || us < 0 || sendto(us, "z", 1, 0, (void *)&u, ulen) != 1 || recv(udgram, &b, 1, 0) != 1 || b != 'z')
		FAIL("unix datagram: %s", strerror(errno));
	printf("unix datagram: binds and receives\n");
	printf("result OK\n");
	return 0;
}
