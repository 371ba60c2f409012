/* sockopts [--wait-at 1] [--mark]: socket options come back. Sets options on a
 * TCP listener, an IPv4 UDP socket, an IPv6 UDP socket (where the kernel
 * has IPv6) and both ends of a unix socket pair, then after wait point 1
 * (dumped there) prints each option as getsockopt reports it, one line
 * per socket, so an uninterrupted run and a restored one must print the
 * same. A connection accepted by the listener after the wait shows the
 * options it inherits from it. --mark also sets SO_MARK on the UDP socket,
 * which a dump refuses. Exits 1 with a FAIL line. */
#include "common.h"
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

struct opt {
	int level, name;
	const char *text;
};

static void set(int fd, int level, int name, const void *v, socklen_t len, const char *text)
{
	if (setsockopt(fd, level, name, v, len))
		FAIL("setsockopt %s on fd %d: %s", text, fd, strerror(errno));
}

static void set_int(int fd, int level, int name, int v, const char *text)
{
	set(fd, level, name, &v, sizeof(v), text);
}

/* Prints "what: NAME value ..." for each option, as getsockopt gives it. */
static void show(const char *what, int fd, const struct opt *opts, int n)
{
	printf("%s:", what);
	for (int i = 0; i < n; i++) {
		union {
			int i;
			struct linger l;
			struct timeval t;
		} v;
		socklen_t len = sizeof(v);

		memset(&v, 0, sizeof(v));
		if (getsockopt(fd, opts[i].level, opts[i].name, &v, &len))
			FAIL("getsockopt %s on fd %d: %s", opts[i].text, fd, strerror(errno));
		if (opts[i].name == SO_LINGER && opts[i].level == SOL_SOCKET)
			printf(" %s %d/%d", opts[i].text, v.l.l_onoff, v.l.l_linger);
		else if ((opts[i].name == SO_RCVTIMEO || opts[i].name == SO_SNDTIMEO) && opts[i].level == SOL_SOCKET)
			printf(" %s %ld.%06ld", opts[i].text, (long)v.t.tv_sec, (long)v.t.tv_usec);
		else
			printf(" %s %d", opts[i].text, v.i);
	}
	printf("\n");
}

#define O(l, n) { l, n, #n }

static const struct opt tcp_opts[] = {
	O(IPPROTO_TCP, TCP_NODELAY), O(SOL_SOCKET, SO_KEEPALIVE), O(IPPROTO_TCP, TCP_KEEPIDLE),
	O(IPPROTO_TCP, TCP_KEEPINTVL), O(IPPROTO_TCP, TCP_KEEPCNT), O(SOL_SOCKET, SO_RCVBUF),
	O(SOL_SOCKET, SO_LINGER), O(SOL_SOCKET, SO_RCVTIMEO), O(IPPROTO_TCP, TCP_DEFER_ACCEPT),
	O(IPPROTO_TCP, TCP_USER_TIMEOUT), O(IPPROTO_IP, IP_TOS), O(IPPROTO_IP, IP_TTL),
	O(IPPROTO_TCP, TCP_MAXSEG), O(IPPROTO_TCP, TCP_FASTOPEN), O(SOL_SOCKET, SO_OOBINLINE),
};
/* What an accepted connection inherits (and its mss differs anyway). */
static const struct opt accepted_opts[] = {
	O(IPPROTO_TCP, TCP_NODELAY), O(SOL_SOCKET, SO_KEEPALIVE), O(IPPROTO_TCP, TCP_KEEPIDLE),
	O(SOL_SOCKET, SO_LINGER), O(SOL_SOCKET, SO_RCVTIMEO), O(IPPROTO_IP, IP_TOS), O(IPPROTO_IP, IP_TTL),
};
static const struct opt udp_opts[] = {
	O(SOL_SOCKET, SO_BROADCAST), O(IPPROTO_IP, IP_RECVERR), O(IPPROTO_IP, IP_PKTINFO),
	O(IPPROTO_IP, IP_MULTICAST_TTL), O(IPPROTO_IP, IP_MULTICAST_LOOP), O(SOL_SOCKET, SO_SNDBUF),
	O(SOL_SOCKET, SO_PRIORITY),
};
static const struct opt udp6_opts[] = {
	O(IPPROTO_IPV6, IPV6_UNICAST_HOPS), O(IPPROTO_IPV6, IPV6_TCLASS), O(IPPROTO_IPV6, IPV6_RECVPKTINFO),
};
static const struct opt pair_opts[] = {
	O(SOL_SOCKET, SO_PASSCRED), O(SOL_SOCKET, SO_SNDTIMEO), O(SOL_SOCKET, SO_RCVBUF),
	O(SOL_SOCKET, SO_RCVLOWAT),
};
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct linger linger = { 1, 3 };
	struct timeval rcv = { 2, 500000 }, snd = { 1, 0 };
	int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
	int udp6 = socket(AF_INET6, SOCK_DGRAM, 0), pair[2];

	if (tcp < 0 || udp < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair))
		FAIL("socket: %s", strerror(errno));
	set_int(tcp, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	set_int(tcp, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	set_int(tcp, IPPROTO_TCP, TCP_KEEPIDLE, 77, "TCP_KEEPIDLE");
	set_int(tcp, IPPROTO_TCP, TCP_KEEPINTVL, 11, "TCP_KEEPINTVL");
	set_int(tcp, IPPROTO_TCP, TCP_KEEPCNT, 4, "TCP_KEEPCNT");
	set_int(tcp, SOL_SOCKET, SO_RCVBUF, 65536, "SO_RCVBUF");
	set(tcp, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger), "SO_LINGER");
	set(tcp, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv), "SO_RCVTIMEO");
	set_int(tcp, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5, "TCP_DEFER_ACCEPT");
	set_int(tcp, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345, "TCP_USER_TIMEOUT");
	set_int(tcp, IPPROTO_IP, IP_TOS, IPTOS_LOWDELAY, "IP_TOS");
	set_int(tcp, IPPROTO_IP, IP_TTL, 17, "IP_TTL");
	set_int(tcp, IPPROTO_TCP, TCP_MAXSEG, 1000, "TCP_MAXSEG");
	set_int(tcp, SOL_SOCKET, SO_OOBINLINE, 1, "SO_OOBINLINE");
	if (bind(tcp, (struct sockaddr *)&a, sizeof(a)) || listen(tcp, 8))
		FAIL("tcp listener: %s", strerror(errno));
	set_int(tcp, IPPROTO_TCP, TCP_FASTOPEN, 5, "TCP_FASTOPEN");
	if (getsockname(tcp, (struct sockaddr *)&a, &alen))
		FAIL("getsockname: %s", strerror(errno));

	set_int(udp, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST");
	set_int(udp, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR");
	set_int(udp, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
	set_int(udp, IPPROTO_IP, IP_MULTICAST_TTL, 4, "IP_MULTICAST_TTL");
	set_int(udp, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP");
	set_int(udp, SOL_SOCKET, SO_SNDBUF, 50000, "SO_SNDBUF");
	set_int(udp, SOL_SOCKET, SO_PRIORITY, 3, "SO_PRIORITY");
	/* --mark: an option only a privileged process may set (root here). */
	if (argc > 1 && !strcmp(argv[1], "--mark"))
		set_int(udp, SOL_SOCKET, SO_MARK, 7, "SO_MARK");
	if (udp6 >= 0) {
		set_int(udp6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9, "IPV6_UNICAST_HOPS");
		set_int(udp6, IPPROTO_IPV6, IPV6_TCLASS, 0x20, "IPV6_TCLASS");
		set_int(udp6, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
	}
	set_int(pair[0], SOL_SOCKET, SO_PASSCRED, 1, "SO_PASSCRED");
	set(pair[0], SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd), "SO_SNDTIMEO");
	set_int(pair[1], SOL_SOCKET, SO_RCVBUF, 30000, "SO_RCVBUF");
	set_int(pair[1], SOL_SOCKET, SO_RCVLOWAT, 2, "SO_RCVLOWAT");
	printf("ready\n");
	wait_point(1);

	show("tcp listener", tcp, tcp_opts, N(tcp_opts));
	show("udp", udp, udp_opts, N(udp_opts));
	if (udp6 >= 0)
		show("udp6", udp6, udp6_opts, N(udp6_opts));
	else
		printf("udp6: no IPv6 here\n");
	show("pair end 0", pair[0], pair_opts, N(pair_opts));
	show("pair end 1", pair[1], pair_opts, N(pair_opts));

	/* A connection the listener accepts now inherits its options (with
	 * TCP_DEFER_ACCEPT, once a byte has come). */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) || write(c, "x", 1) != 1)
		FAIL("connecting to the listener: %s", strerror(errno));
	int s = accept(tcp, NULL, NULL);
	if (s < 0)
		FAIL("accept: %s", strerror(errno));
	show("accepted", s, accepted_opts, N(accepted_opts));
	/* SO_PASSCRED on end 0: a message from end 1 comes with credentials. */
	char byte = 'y', cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	if (write(pair[1], "z", 1) != 1 || recvmsg(pair[0], &m, 0) != 1)
		FAIL("pair message: %s", strerror(errno));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int creds = cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS;
	printf("pair message %c, with credentials: %s\n", byte, creds ? "yes" : "no");
	printf("result OK\n");
	return 0;
}
