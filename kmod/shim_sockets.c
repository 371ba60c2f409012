// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's socket trials (restorer/policy rules/sockets.rs) for the
 * module: a throwaway socket created as the caller would create it (its
 * network namespace and credentials: sock_create, not sock_create_kern),
 * with the image socket's options, bound to its address (if it has one), or for a unix
 * path connected to as a datagram socket, or for a repaired TCP connection
 * put in repair mode first; then released. Nothing of it
 * outlives the call.
 */
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/slab.h>
#include <linux/in6.h>
#include <linux/tcp.h>
#include <net/sock.h>

#include "shim.h"

/* image-format socket_flags. */
#define CHKPT_REUSEADDR 2
#define CHKPT_REUSEPORT 4
#define CHKPT_V6ONLY 8

static int set_int(struct socket *sock, int level, int name, int value)
{
	sockptr_t p = KERNEL_SOCKPTR(&value);

	if (level == SOL_SOCKET)
		return sock_setsockopt(sock, level, name, p, sizeof(value));
	return sock->ops->setsockopt(sock, level, name, p, sizeof(value));
}

int chkpt_shim_socket_probe(int family, int type, int protocol, u32 flags, const void *addr, size_t len, bool connect, bool repair)
{
	struct sockaddr_storage a = {};
	struct socket *sock;
	int err;

	if (len > sizeof(a))
		return -EINVAL;
	memcpy(&a, addr, len);
	err = sock_create(family, connect ? SOCK_DGRAM : type, connect ? 0 : protocol, &sock);
	if (err)
		return err;
	if (connect) {
		err = kernel_connect(sock, (struct sockaddr *)&a, len, 0);
		goto out;
	}
	/* A repaired TCP connection: EPERM without CAP_NET_ADMIN over the
	 * caller's network namespace (the socket's); the bind then passes
	 * over other sockets on the port, as the stub's will. */
	if (repair)
		err = set_int(sock, IPPROTO_TCP, TCP_REPAIR, 1);
	if (!err && (flags & CHKPT_REUSEADDR))
		err = set_int(sock, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err && (flags & CHKPT_REUSEPORT))
		err = set_int(sock, SOL_SOCKET, SO_REUSEPORT, 1);
	if (!err && family == AF_INET6)
		err = set_int(sock, IPPROTO_IPV6, IPV6_V6ONLY, !!(flags & CHKPT_V6ONLY));
	if (!err && len) /* none for a socket never bound */
		err = kernel_bind(sock, (struct sockaddr *)&a, len);
out:
	sock_release(sock);
	return err;
}
