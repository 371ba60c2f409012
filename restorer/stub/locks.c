/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File locks the process held at dump, taken again through the fds the
 * stub has just placed. A lock is never waited for: one that someone else
 * took since the dump is a failed step (take-lock), not a hang.
 */
#include "locks.h"
#include "syscall.h"

#define SYS_fcntl 72
#define SYS_flock 73
#define F_SETLK 6
#define F_OFD_SETLK 37
#define F_RDLCK 0
#define F_WRLCK 1
#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4

/* struct flock on x86-64. */
struct kflock {
	short l_type;
	short l_whence;
	long l_start;
	long l_len;
	int l_pid;   /* 0: an OFD lock wants it so */
};

long chkpt_take_locks(const struct chkpt_plan *plan, unsigned long long *fd)
{
	const struct chkpt_plan_lock *locks =
		(const struct chkpt_plan_lock *)((const char *)plan + plan->locks_offset);
	unsigned long long i;

	for (i = 0; i < plan->nr_locks; i++) {
		const struct chkpt_plan_lock *l = &locks[i];
		struct kflock fl = {
			.l_type = l->write ? F_WRLCK : F_RDLCK,
			.l_whence = 0,
			.l_start = (long)l->start,
			.l_len = (long)l->len,
			.l_pid = 0,
		};
		long err;

		switch (l->kind) {
		case CHKPT_LOCK_FLOCK:
			err = sys2(SYS_flock, l->fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
			break;
		case CHKPT_LOCK_POSIX:
			err = sys3(SYS_fcntl, l->fd, F_SETLK, (u64)&fl);
			break;
		case CHKPT_LOCK_OFD:
			err = sys3(SYS_fcntl, l->fd, F_OFD_SETLK, (u64)&fl);
			break;
		default:
			err = -22;
			break;
		}
		if (err < 0) {
			*fd = l->fd;
			return err;
		}
	}
	return 0;
}
