// SPDX-License-Identifier: GPL-2.0
/*
 * Named FIFOs (plan.h: CHKPT_FILE_FIFO), opened again by path for fds.c.
 *
 * An O_RDONLY open of a FIFO waits for a writer and an O_WRONLY one for a
 * reader (or fails with ENXIO when non-blocking): the stub first opens
 * the path read-write, which Linux never makes wait and which is both a
 * reader and a writer, then the end itself non-blocking, which then finds
 * its peer. Bytes queued at dump are written back through the helper
 * only if the FIFO is empty now: if another process kept it open, the
 * bytes stayed in it. Closing the helper leaves the FIFO as the restored
 * process and the others hold it.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_ioctl 16
#define SYS_fcntl 72
#define O_RDWR 02
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define O_ACCMODE 03
#define F_SETFL 4
#define FIONREAD 0x541B
#define EINTR 4
#define EAGAIN 11

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));

long chkpt_open_fifo(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	const char *path = (const char *)plan + f->path_offset;
	const unsigned char *data = (const unsigned char *)plan + f->data_offset;
	u64 left = f->data_len;
	long helper, fd, err;
	int queued = 0;

	helper = sys3(SYS_open, (u64)path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
	if (helper < 0)
		chkpt_fail(plan, CHKPT_STEP_OPEN_FIFO, index, helper);
	fd = sys3(SYS_open, (u64)path, (f->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_OPEN_FIFO, index, fd);
	if (!(f->flags & O_NONBLOCK)) {
		err = sys3(SYS_fcntl, fd, F_SETFL, 0);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, index, err);
	}
	if (left > 0) {
		err = sys3(SYS_ioctl, helper, FIONREAD, (u64)&queued);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_FIFO_QUEUE, index, err);
	}
	while (left > 0 && queued == 0) {
		err = sys3(SYS_write, helper, (u64)data, left);
		if (err == -EINTR)
			continue;
		if (err <= 0)
			chkpt_fail(plan, CHKPT_STEP_FIFO_QUEUE, index, err < 0 ? err : -EAGAIN);
		data += err;
		left -= (u64)err;
	}
	sys3(SYS_close, helper, 0, 0);
	return fd;
}
