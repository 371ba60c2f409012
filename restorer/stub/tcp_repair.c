// SPDX-License-Identifier: GPL-2.0
/*
 * An established TCP connection restored with TCP_REPAIR (plan.h:
 * CHKPT_FILE_TCP_REPAIR), created for fds.c, which places it like any
 * description. The policy checked before the point of no return that the
 * caller may repair TCP sockets and that the local address binds in
 * repair mode.
 *
 * In repair mode the socket sends nothing: connect() makes it established
 * at once, data written goes into the queue TCP_REPAIR_QUEUE names as if
 * it had been sent (send queue) or received (receive queue). Repair mode
 * also forces the bind past other sockets of the same port (a listener of
 * the same image, the peer's end on loopback). Order matters to the
 * kernel: sequence numbers only on a closed socket, options only after
 * connect and before data, the window once the receive queue is back.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_close 3
#define SYS_fcntl 72
#define SYS_socket 41
#define SYS_connect 42
#define SYS_sendto 44
#define SYS_bind 49
#define SYS_setsockopt 54
#define SOCK_STREAM 1
#define SOCK_CLOEXEC 02000000
#define IPPROTO_TCP 6
#define TCP_REPAIR 19
#define TCP_REPAIR_QUEUE 20
#define TCP_QUEUE_SEQ 21
#define TCP_REPAIR_OPTIONS 22
#define TCP_TIMESTAMP 24
#define TCP_REPAIR_WINDOW 29
#define TCP_RECV_QUEUE 1
#define TCP_SEND_QUEUE 2
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_TIMESTAMP 8
#define MSG_DONTWAIT 0x40
#define F_SETFL 4
#define O_NONBLOCK 04000
#define EINVAL 22

/* image-format tcp_repair_flags. */
#define OPT_SACK 1
#define OPT_TIMESTAMPS 2
#define OPT_WSCALE 4

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));
void chkpt_set_sockopts(struct chkpt_plan *plan, long fd, struct chkpt_plan_file *f, u64 index);

static void set_opt(struct chkpt_plan *plan, long fd, u64 name, const void *v, u64 len, u64 step, u64 index)
{
	long err = sys6(SYS_setsockopt, fd, IPPROTO_TCP, name, (u64)v, len, 0);

	if (err < 0)
		chkpt_fail(plan, step, index, err);
}

static void set_int(struct chkpt_plan *plan, long fd, u64 name, unsigned int value, u64 step, u64 index)
{
	set_opt(plan, fd, name, &value, sizeof(value), step, index);
}

/* Writes `len` bytes at `p` into the queue `queue` chose. */
static void fill_queue(struct chkpt_plan *plan, long fd, unsigned int queue, const unsigned char *p, u64 len, u64 index)
{
	long n;

	set_int(plan, fd, TCP_REPAIR_QUEUE, queue, CHKPT_STEP_TCP_REPAIR_QUEUES, index);
	while (len > 0) {
		n = sys6(SYS_sendto, fd, (u64)p, len, MSG_DONTWAIT, 0, 0);
		if (n <= 0)
			chkpt_fail(plan, CHKPT_STEP_TCP_REPAIR_QUEUES, index, n < 0 ? n : -EINVAL);
		p += n;
		len -= (u64)n;
	}
}

long chkpt_repair_connection(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	const unsigned char *data = (const unsigned char *)plan + f->data_offset;
	u64 alen = f->value == 10 ? 28 : 16;
	u64 sendq = f->value4 & 0xffffffffULL, recvq = f->value4 >> 32;
	unsigned int window[5], opts[8];
	u64 i, nopts = 0;
	long fd, err;

	if (f->data_len != 2 * alen + sizeof(window) + sendq + recvq)
		chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index, -EINVAL);
	fd = sys3(SYS_socket, f->value, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_TCP_REPAIR_SOCKET, index, fd);
	/* Before the connection exists: SO_KEEPALIVE arms its timer when the
	 * repaired connect completes. */
	chkpt_set_sockopts(plan, fd, f, index);
	set_int(plan, fd, TCP_REPAIR, 1, CHKPT_STEP_TCP_REPAIR_SOCKET, index);
	err = sys3(SYS_bind, fd, (u64)data, alen);
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_TCP_REPAIR_SOCKET, index, err);

	/* The clock the peer saw, and the first byte of each queue. */
	set_int(plan, fd, TCP_TIMESTAMP, (unsigned int)f->value3, CHKPT_STEP_TCP_REPAIR_SEQUENCE, index);
	set_int(plan, fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, CHKPT_STEP_TCP_REPAIR_SEQUENCE, index);
	set_int(plan, fd, TCP_QUEUE_SEQ, (unsigned int)f->value1, CHKPT_STEP_TCP_REPAIR_SEQUENCE, index);
	set_int(plan, fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, CHKPT_STEP_TCP_REPAIR_SEQUENCE, index);
	set_int(plan, fd, TCP_QUEUE_SEQ, (unsigned int)(f->value1 >> 32), CHKPT_STEP_TCP_REPAIR_SEQUENCE, index);

	err = sys3(SYS_connect, fd, (u64)(data + alen), alen);
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_TCP_REPAIR_CONNECT, index, err);
	opts[nopts++] = TCPOPT_MSS;
	opts[nopts++] = (unsigned int)(f->value2 & 0xffff);
	if (f->kind_flags & OPT_WSCALE) {
		opts[nopts++] = TCPOPT_WINDOW;
		opts[nopts++] = (unsigned int)(((f->value2 >> 16) & 0xff) | ((f->value2 >> 24) & 0xff) << 16);
	}
	if (f->kind_flags & OPT_SACK) {
		opts[nopts++] = TCPOPT_SACK_PERM;
		opts[nopts++] = 0;
	}
	if (f->kind_flags & OPT_TIMESTAMPS) {
		opts[nopts++] = TCPOPT_TIMESTAMP;
		opts[nopts++] = 0;
	}
	set_opt(plan, fd, TCP_REPAIR_OPTIONS, opts, nopts * sizeof(opts[0]), CHKPT_STEP_TCP_REPAIR_CONNECT, index);

	data += 2 * alen;
	for (i = 0; i < 5; i++)
		window[i] = (unsigned int)data[4 * i] | (unsigned int)data[4 * i + 1] << 8 |
			    (unsigned int)data[4 * i + 2] << 16 | (unsigned int)data[4 * i + 3] << 24;
	data += sizeof(window);
	fill_queue(plan, fd, TCP_SEND_QUEUE, data, sendq, index);
	fill_queue(plan, fd, TCP_RECV_QUEUE, data + sendq, recvq, index);
	set_opt(plan, fd, TCP_REPAIR_WINDOW, window, sizeof(window), CHKPT_STEP_TCP_REPAIR_QUEUES, index);
	if (f->flags & O_NONBLOCK) {
		err = sys3(SYS_fcntl, fd, F_SETFL, O_NONBLOCK);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, index, err);
	}
	return fd;
}

/*
 * Leaves repair mode, once every description of the image exists: that
 * sends a window probe, which a peer end in the same image must be there
 * to take (else the listener on its port, or nobody, answers it with a
 * reset).
 */
void chkpt_repair_done(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	if (f->temp == ~0ULL)
		chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index, -EINVAL);
	set_int(plan, (long)f->temp, TCP_REPAIR, 0, CHKPT_STEP_TCP_REPAIR_QUEUES, index);
}
