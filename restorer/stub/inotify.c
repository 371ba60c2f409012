// SPDX-License-Identifier: GPL-2.0
/*
 * An inotify instance (plan.h: CHKPT_FILE_INOTIFY), created for fds.c: its
 * watches added again in wd order. A new instance numbers its watches 1,
 * 2, ..., as the image recorded them (the validator requires that), so
 * each gets its wd back; a path that no longer exists, or that is now the
 * same inode as an earlier watch, fails the step.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_inotify_add_watch 254
#define SYS_inotify_init1 294
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));

long chkpt_create_inotify(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	u64 at = f->data_offset, i;
	long fd = sys1(SYS_inotify_init1, O_CLOEXEC | (f->flags & O_NONBLOCK));

	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_INOTIFY_WATCH, index, fd);
	for (i = 0; i < f->data_len; i++) {
		u64 *w = (u64 *)((char *)plan + at);
		char *path = (char *)(w + 2);
		u64 len = 0;
		long wd = sys3(SYS_inotify_add_watch, fd, (u64)path, w[1]);

		if (wd < 0)
			chkpt_fail(plan, CHKPT_STEP_INOTIFY_WATCH, index, wd);
		if ((u64)wd != w[0])
			chkpt_fail(plan, CHKPT_STEP_INOTIFY_WATCH, index, -17 /* EEXIST */);
		while (path[len])
			len++;
		at = (at + 16 + len + 1 + 7) & ~7ULL;
	}
	return fd;
}
