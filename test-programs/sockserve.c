/* Listening and bound sockets, as servers hold them:
 *   fd 3  TCP listener on 127.0.0.1 (port from the kernel), SO_REUSEADDR,
 *         backlog 7, nonblocking
 *   fd 4  TCP listener on [::1], IPV6_V6ONLY, SO_REUSEPORT
 *   fd 5  unix stream listener on DIR/srv.sock, backlog 3
 *   fd 6  unix seqpacket listener on an abstract name
 *   fd 7  UDP socket bound to 127.0.0.1
 *   fd 8  unix datagram socket bound to DIR/dgram.sock
 * and with "tcp" after DIR, a TCP connection to fd 3 accepted: its client
 * end at fd 9, its server end at fd 10.
 * Waits at step 1 (dump point); then checks each socket: its address,
 * options and flags, a new connection to each listener accepted and
 * carrying bytes, a datagram to each bound socket received. The TCP
 * connection is printed as "alive" (uninterrupted) or "reset" (restored
 * with --tcp-established=reset: ECONNRESET at both ends); anything else
 * is wrong. Exits non-zero if a check fails. */
#include "common.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", what, ok ? "ok" : "WRONG");
	if (!ok)
		failed = 1;
}

static int at(int fd, int want)
{
	if (fd < 0 || fd == want)
		return fd;
	if (dup2(fd, want) != want)
		return -1;
	close(fd);
	return want;
}

static int opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;

	return getsockopt(fd, level, name, &v, &len) ? -1 : v;
}

static void set(int fd, int level, int name)
{
	int one = 1;

	if (setsockopt(fd, level, name, &one, sizeof one))
		FAIL("setsockopt %d", name);
}

static void wait_in(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* Connects a new client to listener `l` (address `a`), accepts it and
 * sends a byte each way. */
static int serves(int l, int family, int type, const void *a, socklen_t len)
{
	int c = socket(family, type, 0), s;
	char b = 0;

	if (c < 0 || connect(c, a, len))
		return 0;
	wait_in(l);
	s = accept(l, NULL, NULL);
	if (s < 0)
		return 0;
	int ok = write(c, "x", 1) == 1 && read(s, &b, 1) == 1 && b == 'x' && write(s, "y", 1) == 1 && read(c, &b, 1) == 1 && b == 'y';
	close(c);
	close(s);
	return ok;
}

/* Sends a datagram to `a` from a new socket; `fd` must receive it. */
static int receives(int fd, int family, const void *a, socklen_t len)
{
	int c = socket(family, SOCK_DGRAM, 0);
	char b[8] = { 0 };

	if (c < 0 || sendto(c, "dgram", 5, 0, a, len) != 5)
		return 0;
	close(c);
	return recv(fd, b, sizeof b, 0) == 5 && !memcmp(b, "dgram", 5);
}

static int same_name(int fd, const void *a, socklen_t len)
{
	struct sockaddr_storage got;
	socklen_t n = sizeof got;

	return !getsockname(fd, (struct sockaddr *)&got, &n) && n == len && !memcmp(&got, a, len);
}

int main(int argc, char **argv)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, udp;
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_un un = { .sun_family = AF_UNIX }, abs_un = { .sun_family = AF_UNIX }, dg = { .sun_family = AF_UNIX };
	socklen_t len4 = sizeof in4, len6 = sizeof in6, abs_len;
	int tcp = 0;

	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: sockserve [--wait-at 1] DIR [tcp]");
	tcp = argc > 2 && !strcmp(argv[2], "tcp");
	snprintf(un.sun_path, sizeof un.sun_path, "%s/srv.sock", argv[1]);
	snprintf(dg.sun_path, sizeof dg.sun_path, "%s/dgram.sock", argv[1]);
	unlink(un.sun_path);
	unlink(dg.sun_path);
	abs_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		  snprintf(abs_un.sun_path + 1, sizeof abs_un.sun_path - 1, "binfmt_chkpt-sockserve-%d", getpid());

	int l4 = at(socket(AF_INET, SOCK_STREAM, 0), 3);
	set(l4, SOL_SOCKET, SO_REUSEADDR);
	if (bind(l4, (void *)&in4, len4) || listen(l4, 7) || getsockname(l4, (void *)&in4, &len4) || fcntl(l4, F_SETFL, O_NONBLOCK))
		FAIL("tcp listener: %s", strerror(errno));
	int l6 = at(socket(AF_INET6, SOCK_STREAM, 0), 4);
	set(l6, IPPROTO_IPV6, IPV6_V6ONLY);
	set(l6, SOL_SOCKET, SO_REUSEPORT);
	if (bind(l6, (void *)&in6, len6) || listen(l6, 5) || getsockname(l6, (void *)&in6, &len6))
		FAIL("tcp6 listener: %s", strerror(errno));
	int lu = at(socket(AF_UNIX, SOCK_STREAM, 0), 5);
	if (bind(lu, (void *)&un, sizeof un) || listen(lu, 3))
		FAIL("unix listener: %s", strerror(errno));
	int la = at(socket(AF_UNIX, SOCK_SEQPACKET, 0), 6);
	if (bind(la, (void *)&abs_un, abs_len) || listen(la, 2))
		FAIL("abstract listener: %s", strerror(errno));
	int u4 = at(socket(AF_INET, SOCK_DGRAM, 0), 7);
	udp = in4;
	udp.sin_port = 0;
	socklen_t ulen = sizeof udp;
	if (bind(u4, (void *)&udp, ulen) || getsockname(u4, (void *)&udp, &ulen))
		FAIL("udp: %s", strerror(errno));
	int ud = at(socket(AF_UNIX, SOCK_DGRAM, 0), 8);
	if (bind(ud, (void *)&dg, sizeof dg))
		FAIL("unix dgram: %s", strerror(errno));
	if (tcp) {
		int c = at(socket(AF_INET, SOCK_STREAM, 0), 9);
		if (connect(c, (void *)&in4, len4))
			FAIL("connect: %s", strerror(errno));
		wait_in(l4);
		if (at(accept(l4, NULL, NULL), 10) != 10)
			FAIL("accept: %s", strerror(errno));
	}
	printf("ready\n");
	wait_point(1);

	check((fcntl(3, F_GETFL) & O_NONBLOCK) && !(fcntl(4, F_GETFL) & O_NONBLOCK) && !(fcntl(5, F_GETFL) & O_NONBLOCK), "flags");
	check(same_name(3, &in4, len4) && same_name(4, &in6, len6) && same_name(7, &udp, ulen), "inet addresses");
	check(same_name(6, &abs_un, abs_len), "abstract name");
	check(opt(3, SOL_SOCKET, SO_ACCEPTCONN) == 1 && opt(3, SOL_SOCKET, SO_REUSEADDR) == 1 && opt(3, SOL_SOCKET, SO_REUSEPORT) == 0, "tcp options");
	check(opt(4, IPPROTO_IPV6, IPV6_V6ONLY) == 1 && opt(4, SOL_SOCKET, SO_REUSEPORT) == 1, "tcp6 options");
	struct tcp_info ti;
	socklen_t tlen = sizeof ti;
	check(!getsockopt(3, IPPROTO_TCP, TCP_INFO, &ti, &tlen) && ti.tcpi_sacked == 7 && ti.tcpi_unacked == 0, "tcp backlog");
	check(opt(6, SOL_SOCKET, SO_TYPE) == SOCK_SEQPACKET && opt(8, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM, "unix types");
	check(serves(3, AF_INET, SOCK_STREAM, &in4, len4), "tcp listener accepts");
	check(serves(4, AF_INET6, SOCK_STREAM, &in6, len6), "tcp6 listener accepts");
	check(serves(5, AF_UNIX, SOCK_STREAM, &un, sizeof un), "unix listener accepts");
	check(serves(6, AF_UNIX, SOCK_SEQPACKET, &abs_un, abs_len), "abstract listener accepts");
	check(receives(7, AF_INET, &udp, ulen), "udp receives");
	check(receives(8, AF_UNIX, &dg, sizeof dg), "unix datagram receives");
	if (tcp) {
		char b;
		ssize_t r = recv(9, &b, 1, MSG_DONTWAIT);
		int rerr = errno;
		ssize_t w = send(10, "z", 1, MSG_NOSIGNAL);
		int werr = errno;
		if (r < 0 && rerr == EAGAIN && w == 1 && recv(9, &b, 1, 0) == 1 && b == 'z') {
			printf("tcp connection alive\n");
		} else if (r < 0 && rerr == ECONNRESET && w < 0 && werr == ECONNRESET) {
			printf("tcp connection reset\n");
		} else {
			printf("tcp connection WRONG (read %zd %s, write %zd %s)\n", r, strerror(rerr), w, strerror(werr));
			failed = 1;
		}
	}
	unlink(un.sun_path);
	unlink(dg.sun_path);
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}
