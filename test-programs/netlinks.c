/* netlinks [--wait-at 1]: netlink sockets come back. Makes a raw
 * NETLINK_ROUTE socket bound to a port (autobound: the kernel picks it)
 * and the link multicast group, and a datagram NETLINK_ROUTE socket never
 * bound. After wait point 1 (dumped there) it checks that the first has
 * the same port and groups and the second is still unbound, and that
 * each answers a link dump request (RTM_GETLINK) with the loopback link.
 * Prints one line per check and "result OK"; exits 1 with a FAIL line. */
#include "common.h"
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

static struct sockaddr_nl name_of(int fd)
{
	struct sockaddr_nl a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) || len != sizeof(a) || a.nl_family != AF_NETLINK)
		FAIL("getsockname of netlink fd %d: %s", fd, strerror(errno));
	return a;
}

/* Sends a link dump request on fd; true once a RTM_NEWLINK comes back. */
static int dumps_links(int fd)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 7 },
		.i = { .ifi_family = AF_UNSPEC },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	static char buf[1 << 16];
	int links = 0;

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) != sizeof(req))
		FAIL("send RTM_GETLINK on fd %d: %s", fd, strerror(errno));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			FAIL("recv on fd %d: %s", fd, strerror(errno));
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != 7)
				continue; /* a multicast notification */
			if (h->nlmsg_type == NLMSG_DONE)
				return links > 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				FAIL("RTM_GETLINK on fd %d: an error answer", fd);
			links += h->nlmsg_type == RTM_NEWLINK;
		}
	}
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int route = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int spare = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };

	if (route < 0 || spare < 0)
		FAIL("netlink socket: %s", strerror(errno));
	if (bind(route, (struct sockaddr *)&a, sizeof(a)))
		FAIL("bind: %s", strerror(errno));
	struct sockaddr_nl before = name_of(route);
	if (before.nl_pid == 0 || before.nl_groups != RTMGRP_LINK)
		FAIL("bound to port %u groups %#x", before.nl_pid, before.nl_groups);
	printf("ready\n");
	wait_point(1);

	struct sockaddr_nl after = name_of(route);
	if (after.nl_pid != before.nl_pid || after.nl_groups != before.nl_groups)
		FAIL("route socket: port %u groups %#x, was %u %#x", after.nl_pid, after.nl_groups, before.nl_pid, before.nl_groups);
	printf("route socket: same port, groups %#x\n", after.nl_groups);
	if (name_of(spare).nl_pid != 0)
		FAIL("the spare socket is bound");
	printf("spare socket: still unbound\n");
	if (!dumps_links(route) || !dumps_links(spare))
		FAIL("no link in a dump");
	printf("both answer a link dump\n");
	printf("result OK\n");
	return 0;
}
