// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets (plan.h: CHKPT_FILE_SOCKET, CHKPT_FILE_TCP_RESET), created for
 * fds.c, which keeps and places them like any description.
 *
 * A socket is created with its options, bound to its address again (one
 * never bound has none) and, for a listener, listens with its backlog; a connected UDP socket is
 * connected to its peer again (nothing is sent). The policy made sure
 * before the point of no return that the address was free; a unix path
 * still naming a socket file that nobody listens on (left behind by the
 * dumped process) is removed here and bound again, as the dumped server
 * could not have done it itself.
 *
 * A reset TCP connection is a real TCP socket in that state: connected to
 * a listener of our own on loopback, whose accepted end is closed with
 * SO_LINGER 0 (a reset); the stub waits for the reset to arrive (poll), so
 * the restored program's next read or write fails with ECONNRESET.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_poll 7
#define SYS_close 3
#define SYS_fcntl 72
#define SYS_socket 41
#define SYS_connect 42
#define SYS_bind 49
#define SYS_listen 50
#define SYS_getsockname 51
#define SYS_setsockopt 54
#define SYS_unlink 87
#define SYS_newfstatat 262
#define SYS_accept4 288
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_LINGER 13
#define SO_REUSEPORT 15
#define IPPROTO_IPV6 41
#define IPV6_V6ONLY 26
#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define F_SETFL 4
#define O_NONBLOCK 04000
#define POLLIN 1
#define EINTR 4
#define EADDRINUSE 98
#define ECONNREFUSED 111

/* image-format socket_flags. */
#define LISTENING 1
#define REUSEADDR 2
#define REUSEPORT 4
#define V6ONLY 8
#define CONNECTED 16

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));

/* A sockaddr_un and room for the NUL after its path. */
struct addr_buf {
	unsigned char b[112];
};

static void set_int(struct chkpt_plan *plan, long fd, u64 level, u64 name, int value, u64 index)
{
	long err = sys6(SYS_setsockopt, fd, level, name, (u64)&value, sizeof(value), 0);

	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_SOCKET, index, err);
}

/* Whether the unix path of `a` (len bytes) is a socket file nobody is
 * bound to: a datagram connect to it is refused. */
static int stale_unix_path(struct addr_buf *a, u64 len)
{
	unsigned long long st[18]; /* struct stat: st_mode at byte 24 */
	long probe, err;

	if (len < 3 || a->b[2] == 0)
		return 0; /* abstract: no file */
	if (sys4(SYS_newfstatat, (u64)AT_FDCWD, (u64)&a->b[2], (u64)st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if ((((unsigned int *)st)[6] & S_IFMT) != S_IFSOCK)
		return 0;
	probe = sys3(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return 0;
	err = sys3(SYS_connect, probe, (u64)a, len);
	sys3(SYS_close, probe, 0, 0);
	return err == -ECONNREFUSED;
}

/* The socket options recorded for description `index` (SOCKOPTS), set on
 * its new socket `fd` before it is bound, listens, connects or gets its
 * queued bytes: a listener's are what its accepted connections inherit,
 * a pair's buffer sizes what its queued bytes must fit in. */
void chkpt_set_sockopts(struct chkpt_plan *plan, long fd, struct chkpt_plan_file *f, u64 index)
{
	struct chkpt_plan_sockopt *o = (struct chkpt_plan_sockopt *)((char *)plan + f->sockopts_offset);
	u64 i;
	long err;

	for (i = 0; i < f->nr_sockopts; i++) {
		if (o[i].len > sizeof(o[i].value))
			chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index, -22);
		err = sys6(SYS_setsockopt, fd, o[i].level, o[i].name, (u64)o[i].value, o[i].len, 0);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_SET_SOCKET_OPTION, index, err);
	}
}

long chkpt_create_socket(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	struct addr_buf a = { { 0 } }, peer = { { 0 } };
	u64 i, len = f->data_len, peer_len = 0;
	long fd, err;

	/* A connected datagram socket: its local address (value3 bytes; none
	 * for a unix one never bound), then its peer's. */
	if (f->kind_flags & CONNECTED) {
		if (f->value3 > len)
			chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index, -22);
		peer_len = len - f->value3;
		len = f->value3;
	}
	if (len > sizeof(a.b) - 2 || peer_len > sizeof(peer.b) - 2)
		chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index, -22);
	for (i = 0; i < len; i++)
		a.b[i] = ((unsigned char *)plan + f->data_offset)[i];
	for (i = 0; i < peer_len; i++)
		peer.b[i] = ((unsigned char *)plan + f->data_offset)[len + i];
	fd = sys3(SYS_socket, f->value, f->value1 | SOCK_CLOEXEC, f->value4);
	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_SOCKET, index, fd);
	chkpt_set_sockopts(plan, fd, f, index);
	if (f->kind_flags & REUSEADDR)
		set_int(plan, fd, SOL_SOCKET, SO_REUSEADDR, 1, index);
	if (f->kind_flags & REUSEPORT)
		set_int(plan, fd, SOL_SOCKET, SO_REUSEPORT, 1, index);
	/* Always: the default follows net.ipv6.bindv6only of this host. */
	if (f->value == AF_INET6)
		set_int(plan, fd, IPPROTO_IPV6, IPV6_V6ONLY, (f->kind_flags & V6ONLY) != 0, index);
	/* No address: a socket that was never bound stays so. */
	err = len ? sys3(SYS_bind, fd, (u64)&a, len) : 0;
	if (err == -EADDRINUSE && f->value == AF_UNIX && stale_unix_path(&a, len)) {
		err = sys1(SYS_unlink, (u64)&a.b[2]);
		if (err >= 0)
			err = sys3(SYS_bind, fd, (u64)&a, len);
	}
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_BIND_SOCKET, index, err);
	if (f->kind_flags & LISTENING) {
		err = sys2(SYS_listen, fd, f->value2);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_LISTEN_SOCKET, index, err);
	}
	if (f->kind_flags & CONNECTED) {
		err = sys3(SYS_connect, fd, (u64)&peer, peer_len);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_CONNECT_SOCKET, index, err);
	}
	if (f->flags & O_NONBLOCK) {
		err = sys3(SYS_fcntl, fd, F_SETFL, O_NONBLOCK);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, index, err);
	}
	return fd;
}

struct pollfd64 {
	int fd;
	short events, revents;
};

long chkpt_reset_connection(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	struct addr_buf a = { { 0 } };
	int linger[2] = { 1, 0 };
	int len;
	long l, c, s, err;
	struct pollfd64 p;

	/* Loopback, port 0: 127.0.0.1 or ::1. */
	a.b[0] = (unsigned char)f->value;
	if (f->value == AF_INET) {
		a.b[4] = 127;
		a.b[7] = 1;
		len = 16;
	} else {
		a.b[23] = 1;
		len = 28;
	}
	l = sys3(SYS_socket, f->value, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c = sys3(SYS_socket, f->value, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = l < 0 ? l : c;
	if (err >= 0)
		err = sys3(SYS_bind, l, (u64)&a, len);
	if (err >= 0)
		err = sys2(SYS_listen, l, 1);
	if (err >= 0)
		err = sys3(SYS_getsockname, l, (u64)&a, (u64)&len);
	if (err >= 0)
		err = sys3(SYS_connect, c, (u64)&a, len);
	s = err < 0 ? err : sys4(SYS_accept4, l, 0, 0, SOCK_CLOEXEC);
	if (s < 0)
		chkpt_fail(plan, CHKPT_STEP_RESET_CONNECTION, index, s);
	err = sys6(SYS_setsockopt, s, SOL_SOCKET, SO_LINGER, (u64)linger, sizeof(linger), 0);
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_RESET_CONNECTION, index, err);
	sys3(SYS_close, s, 0, 0);
	sys3(SYS_close, l, 0, 0);
	/* Until the reset has arrived (POLLERR | POLLHUP). */
	do {
		p.fd = (int)c;
		p.events = POLLIN;
		p.revents = 0;
		err = sys3(SYS_poll, (u64)&p, 1, (u64)-1);
	} while (err == -EINTR);
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_RESET_CONNECTION, index, err);
	if (f->flags & O_NONBLOCK) {
		err = sys3(SYS_fcntl, c, F_SETFL, O_NONBLOCK);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, index, err);
	}
	return c;
}
