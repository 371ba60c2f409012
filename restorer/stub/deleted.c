// SPDX-License-Identifier: GPL-2.0
/*
 * A deleted file (plan.h: CHKPT_FILE_DELETED), created for fds.c: an
 * unlinked file again, O_TMPFILE in the directory the file was in (the
 * same filesystem, as the program would expect of its temporary files),
 * or where that is refused (no such directory, a filesystem without
 * O_TMPFILE, no permission) a memfd. The contents are written through an
 * O_RDWR open; the description the program gets is a reopen of it
 * through /proc/self/fd with the recorded access mode and flags (kept
 * O_RDWR where /proc is not mounted), at the recorded position.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_lseek 8
#define SYS_fcntl 72
#define SYS_memfd_create 319
#define O_RDWR 2
#define O_ACCMODE 3
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define O_TMPFILE 020200000
#define F_SETFL 4
#define MFD_CLOEXEC 1
#define EINTR 4

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));

long chkpt_create_deleted(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	static const char name[] = "chkpt-deleted";
	char proc[32] = "/proc/self/fd/";
	long fd, again, err;
	u64 done = 0, n, i = 14;
	char digits[20];
	int k = 0;

	fd = sys3(SYS_open, (u64)((char *)plan + f->path_offset), O_TMPFILE | O_RDWR | O_CLOEXEC, f->value1);
	if (fd < 0)
		fd = sys2(SYS_memfd_create, (u64)name, MFD_CLOEXEC);
	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_DELETED_FILE, index, fd);
	while (done < f->data_len) {
		err = sys3(SYS_write, fd, (u64)((char *)plan + f->data_offset + done), f->data_len - done);
		if (err == -EINTR)
			continue;
		if (err <= 0)
			chkpt_fail(plan, CHKPT_STEP_CREATE_DELETED_FILE, index, err < 0 ? err : -5);
		done += (u64)err;
	}
	/* "/proc/self/fd/<fd>" */
	n = (u64)fd;
	do {
		digits[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	while (k)
		proc[i++] = digits[--k];
	proc[i] = 0;
	again = sys3(SYS_open, (u64)proc, (f->flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)) | O_CLOEXEC, 0);
	if (again >= 0) {
		sys3(SYS_close, fd, 0, 0);
		fd = again;
	} else if (f->flags & (O_APPEND | O_NONBLOCK)) {
		err = sys3(SYS_fcntl, fd, F_SETFL, f->flags & (O_APPEND | O_NONBLOCK));
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_CREATE_DELETED_FILE, index, err);
	}
	err = sys3(SYS_lseek, fd, f->offset, 0);
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_DELETED_FILE, index, err);
	return fd;
}
