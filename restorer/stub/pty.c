// SPDX-License-Identifier: GPL-2.0
/*
 * pty pairs (plan.h: CHKPT_FILE_PTY_MASTER, CHKPT_FILE_PTY_SLAVE), created
 * again for fds.c (FORMAT.md "Terminals").
 *
 * The master is a new pair from /dev/ptmx, unlocked; the slave's termios
 * (TCSETS2) and window size (TIOCSWINSZ) are set through the master,
 * which Linux applies to the slave. Each open of the slave the image had
 * is opened from the master (TIOCGPTPEER: no path, so the new slave's
 * number does not matter), with O_NOCTTY: it never becomes a controlling
 * terminal here. Then what would stop later opens: exclusive mode
 * (TIOCEXCL on the slave), packet mode, and the lock (TIOCSPTLCK), last.
 * A master whose slave had been opened and closed again gets a slave
 * opened and closed, so its reads give EIO as they did.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_open 2
#define SYS_close 3
#define SYS_ioctl 16
#define SYS_fcntl 72
#define O_RDWR 02
#define O_NOCTTY 0400
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define O_ACCMODE 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define TCSETS2 0x402C542B
#define TIOCSWINSZ 0x5414
#define TIOCEXCL 0x540C
#define TIOCPKT 0x5420
#define TIOCSPTLCK 0x40045431
#define TIOCGPTPEER 0x5441
#define TERMIOS2_LEN 44
#define EINVAL 22

/* pty_flags (image-format records.rs). */
#define PTY_PACKET 1
#define PTY_LOCKED 2
#define PTY_EXCLUSIVE 4
#define PTY_SLAVE_CLOSED 8

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));

struct winsize16 {
	unsigned short row, col, xpixel, ypixel;
};

/* Moves `fd` above every fd of the image, close-on-exec, with the status
 * flags O_NONBLOCK and O_APPEND of `flags`. */
static u64 keep_with_flags(struct chkpt_plan *plan, long fd, u64 flags, u64 index)
{
	long high = sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, plan->report_min);
	long err;

	if (high < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_PTY, index, high);
	sys3(SYS_close, fd, 0, 0);
	err = sys3(SYS_fcntl, high, F_SETFL, flags & (O_NONBLOCK | O_APPEND));
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, index, err);
	return (u64)high;
}

static void pty_ioctl(struct chkpt_plan *plan, long fd, u64 request, void *arg, u64 step, u64 index)
{
	long err = sys3(SYS_ioctl, fd, request, (u64)arg);

	if (err < 0)
		chkpt_fail(plan, step, index, err);
}

void chkpt_create_pty(struct chkpt_plan *plan, struct chkpt_plan_file *files, u64 index, u64 nr)
{
	struct chkpt_plan_file *m = &files[index];
	u64 slaves = m->value1, k;
	struct winsize16 ws = {
		(unsigned short)m->value, (unsigned short)(m->value >> 16),
		(unsigned short)(m->value >> 32), (unsigned short)(m->value >> 48),
	};
	int zero = 0, one = 1;
	long master, fd;

	if (index >= nr || slaves > nr - index - 1 || m->data_len != TERMIOS2_LEN)
		chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index, -EINVAL);
	master = sys3(SYS_open, (u64)((char *)plan + m->path_offset), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
	if (master < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_PTY, index, master);
	pty_ioctl(plan, master, TIOCSPTLCK, &zero, CHKPT_STEP_CREATE_PTY, index);
	pty_ioctl(plan, master, TCSETS2, (char *)plan + m->data_offset, CHKPT_STEP_PTY_STATE, index);
	pty_ioctl(plan, master, TIOCSWINSZ, &ws, CHKPT_STEP_PTY_STATE, index);
	for (k = 1; k <= slaves; k++) {
		struct chkpt_plan_file *s = &files[index + k];

		if (s->kind != CHKPT_FILE_PTY_SLAVE || s->peer != index || s->temp != ~0ULL)
			chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index + k, -EINVAL);
		fd = sys3(SYS_ioctl, master, TIOCGPTPEER, (s->flags & O_ACCMODE) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			chkpt_fail(plan, CHKPT_STEP_OPEN_PTY_SLAVE, index + k, fd);
		s->temp = keep_with_flags(plan, fd, s->flags, index + k);
	}
	if (slaves == 0 && (m->kind_flags & PTY_SLAVE_CLOSED)) {
		fd = sys3(SYS_ioctl, master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			chkpt_fail(plan, CHKPT_STEP_OPEN_PTY_SLAVE, index, fd);
		sys3(SYS_close, fd, 0, 0);
	}
	/* Once every slave is open: these would refuse further opens. */
	if (slaves > 0 && (m->kind_flags & PTY_EXCLUSIVE))
		pty_ioctl(plan, (long)files[index + 1].temp, TIOCEXCL, 0, CHKPT_STEP_PTY_STATE, index);
	if (m->kind_flags & PTY_PACKET)
		pty_ioctl(plan, master, TIOCPKT, &one, CHKPT_STEP_PTY_STATE, index);
	if (m->kind_flags & PTY_LOCKED)
		pty_ioctl(plan, master, TIOCSPTLCK, &one, CHKPT_STEP_PTY_STATE, index);
	m->temp = keep_with_flags(plan, master, m->flags, index);
}
