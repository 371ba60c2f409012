// SPDX-License-Identifier: GPL-2.0
/*
 * Open file descriptions (plan.h: chkpt_plan_file, chkpt_plan_link): the
 * stub creates each once, keeps it at a temporary fd above every fd number
 * of the image (plan->report_min and up), then puts it at each fd number
 * that shares it, and closes the temporary. So dup'ed fds share one offset
 * and one set of status flags again, and a pipe's two ends are one pipe.
 *
 * Runs after the point of no return, with raw syscalls like stub.c; a
 * failure names its step (CHKPT_STEPS) and the description's index.
 */
#include "plan.h"
#include "syscall.h"


#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_lseek 8
#define SYS_fcntl 72
#define SYS_dup3 292
#define SYS_pipe2 293
#define SYS_socketpair 53
#define SYS_shutdown 48
#define AF_UNIX 1
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define SYS_ioctl 16
#define SYS_epoll_ctl 233
#define SYS_timerfd_create 283
#define SYS_timerfd_settime 286
#define SYS_signalfd4 289
#define SYS_eventfd2 290
#define SYS_epoll_create1 291
#define SYS_ftruncate 77
#define SYS_memfd_create 319
#define MFD_CLOEXEC 1
#define MFD_ALLOW_SEALING 2
#define F_ADD_SEALS 1033
#define EFD_SEMAPHORE 1
#define EPOLL_CTL_ADD 1
#define TFD_TIMER_ABSTIME 1
#define TFD_TIMER_CANCEL_ON_SET 2
#define TFD_IOC_SET_TICKS 0x40085400 /* _IOW('T', 0, u64) */
#define CLOCK_REALTIME 0
#define CLOCK_REALTIME_ALARM 8
#define NSEC 1000000000ULL

#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#define O_ACCMODE 3
#define O_RDONLY 0
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define EINTR 4
#define EBADF 9
#define EPERM 1

/* stub.c: records the failed step, writes the failure line, ends the process. */
void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));
/* sockets.c: a bound socket, a reset TCP connection. */
long chkpt_create_socket(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index);
void chkpt_set_sockopts(struct chkpt_plan *plan, long fd, struct chkpt_plan_file *f, u64 index);
long chkpt_reset_connection(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index);
/* deleted.c: a deleted file made again. */
long chkpt_create_deleted(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index);
/* inotify.c: an inotify instance with its watches. */
long chkpt_create_inotify(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index);
/* tcp_repair.c: an established TCP connection restored with TCP_REPAIR. */
long chkpt_repair_connection(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index);
void chkpt_repair_done(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index);
/* fifo.c: a named FIFO opened again. */
long chkpt_open_fifo(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index);
/* pty.c: a pty pair with its slave's opens. */
void chkpt_create_pty(struct chkpt_plan *plan, struct chkpt_plan_file *files, u64 index, u64 nr);

struct timespec64 {
	long long sec, nsec;
};

struct itimerspec64 {
	struct timespec64 interval, value;
};

/* struct epoll_event is packed on x86-64. */
struct epoll_event64 {
	unsigned int events;
	u64 data;
} __attribute__((packed));

static struct timespec64 ts_of(u64 ns)
{
	struct timespec64 t = { (long long)(ns / NSEC), (long long)(ns % NSEC) };

	return t;
}

static struct chkpt_plan_file *files_of(struct chkpt_plan *plan)
{
	return (struct chkpt_plan_file *)((char *)plan + plan->files_offset);
}

/* Moves `fd` out of the way of every fd number of the image: the
 * description waits there, close-on-exec, until it is placed. */
static u64 keep(struct chkpt_plan *plan, long fd, u64 step, u64 index)
{
	long high = sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, plan->report_min);

	if (high < 0)
		chkpt_fail(plan, step, index, high);
	sys3(SYS_close, fd, 0, 0);
	return (u64)high;
}

static void open_file(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	long fd = sys3(SYS_open, (u64)((char *)plan + f->path_offset), f->flags, 0);
	long err;

	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_OPEN_FILE, index, fd);
	if (f->offset != ~0ULL) {
		err = sys3(SYS_lseek, fd, f->offset, 0);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_OPEN_FILE, index, err);
	}
	f->temp = keep(plan, fd, CHKPT_STEP_OPEN_FILE, index);
}

/* Both ends of a pipe at once (one of them may be gone: then it is closed
 * here, so the end that stays sees end of file or EPIPE, as it would have
 * when its peer went). Size first, then the queued bytes: the validator
 * bounds them by the size, so the blocking write fits in the empty pipe. */
static void create_pipe(struct chkpt_plan *plan, struct chkpt_plan_file *files, u64 index)
{
	struct chkpt_plan_file *f = &files[index];
	int ends[2];
	u64 rd = (f->flags & O_ACCMODE) == O_RDONLY ? index : f->peer;
	u64 wr = rd == index ? f->peer : index;
	long err, size;
	u64 done = 0, i;

	err = sys3(SYS_pipe2, (u64)ends, O_CLOEXEC, 0);
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_PIPE, index, err);
	size = sys3(SYS_fcntl, ends[0], F_GETPIPE_SZ, 0);
	if (size < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_PIPE, index, size);
	if ((u64)size != f->value) {
		err = sys3(SYS_fcntl, ends[0], F_SETPIPE_SZ, f->value);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_CREATE_PIPE, index, err);
	}
	if (rd != ~0ULL) {
		struct chkpt_plan_file *r = &files[rd];

		while (done < r->data_len) {
			err = sys3(SYS_write, ends[1], (u64)((char *)plan + r->data_offset + done), r->data_len - done);
			if (err == -EINTR)
				continue;
			if (err <= 0)
				chkpt_fail(plan, CHKPT_STEP_CREATE_PIPE, index, err < 0 ? err : -5 /* EIO */);
			done += (u64)err;
		}
	}
	for (i = 0; i < 2; i++) {
		u64 which = i == 0 ? rd : wr;

		if (which == ~0ULL) {
			sys3(SYS_close, ends[i], 0, 0);
			continue;
		}
		files[which].temp = keep(plan, ends[i], CHKPT_STEP_CREATE_PIPE, which);
		/* Pipes know O_NONBLOCK and O_APPEND only (the validator). */
		if (files[which].flags & (O_NONBLOCK | O_APPEND)) {
			err = sys3(SYS_fcntl, files[which].temp, F_SETFL, files[which].flags & (O_NONBLOCK | O_APPEND));
			if (err < 0)
				chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, which, err);
		}
	}
}

/* Both ends of a unix socket pair. Each end's queued bytes are written
 * into the other end, so they wait where they were. The pair is made
 * nonblocking for that, so bytes beyond what the socket buffer takes fail
 * the step instead of blocking forever; then each end gets its own status
 * flags. Only stream pairs carry bytes (the validator). An end whose peer
 * had closed (kind_flags 1, no peer record) gets a pair too, whose other
 * end is closed once the bytes are in: reads give them, then end of file;
 * writes EPIPE. */
static void create_unix_pair(struct chkpt_plan *plan, struct chkpt_plan_file *files, u64 index)
{
	u64 at[2] = { index, files[index].peer };
	u64 n = at[1] == ~0ULL ? 1 : 2;
	int ends[2];
	long err;
	u64 i, done;

	if (n == 1 && !(files[index].kind_flags & 1))
		chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, index, -22);
	err = sys4(SYS_socketpair, AF_UNIX, files[index].value | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, (u64)ends);
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_UNIX_PAIR, index, err);
	for (i = 0; i < n; i++)
		chkpt_set_sockopts(plan, ends[i], &files[at[i]], at[i]);
	for (i = 0; i < n; i++) {
		struct chkpt_plan_file *f = &files[at[i]];

		for (done = 0; done < f->data_len; done += (u64)err) {
			err = sys3(SYS_write, ends[1 - i], (u64)((char *)plan + f->data_offset + done), f->data_len - done);
			if (err == -EINTR) {
				err = 0;
				continue;
			}
			if (err <= 0)
				chkpt_fail(plan, CHKPT_STEP_CREATE_UNIX_PAIR, at[i], err < 0 ? err : -5 /* EIO */);
		}
	}
	/* A shut sending side, after the bytes its peer had queued. */
	for (i = 0; i < n; i++) {
		if (!(files[at[i]].kind_flags & 2))
			continue;
		err = sys3(SYS_shutdown, ends[i], 1 /* SHUT_WR */, 0);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_CREATE_UNIX_PAIR, at[i], err);
	}
	if (n == 1)
		sys3(SYS_close, ends[1], 0, 0);
	for (i = 0; i < n; i++) {
		files[at[i]].temp = keep(plan, ends[i], CHKPT_STEP_CREATE_UNIX_PAIR, at[i]);
		err = sys3(SYS_fcntl, files[at[i]].temp, F_SETFL, files[at[i]].flags & O_NONBLOCK);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, at[i], err);
	}
}

/* Signal-driven I/O (FORMAT.md FILES `owner`) on a description once it is
 * at its first fd `fd` (O_ASYNC registers that number: the signal's si_fd
 * names it): its signal and O_ASYNC by whoever holds it (the same on a
 * shared description), its owner only by the process that is the owner,
 * with its own new tid, pid or group. Consumed: the description's other
 * fds find nothing left to do. */
#define F_GETFL 3
#define F_SETSIG 10
#define F_SETOWN_EX 15
#define O_ASYNC 020000
#define SYS_getpid 39
#define SYS_getpgrp 111
#define SYS_gettid 186
#define F_OWNER_TID 0
#define F_OWNER_PGRP 2
static void set_owner(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 fd, u64 index)
{
	struct {
		int type, pid;
	} owner;
	long err = 0, fl;

	if (f->kind == CHKPT_FILE_OPEN)
		return;
	if (f->owner != ~0ULL) {
		owner.type = (int)f->owner;
		owner.pid = (int)sys0(f->owner == F_OWNER_PGRP ? SYS_getpgrp : f->owner == F_OWNER_TID ? SYS_gettid : SYS_getpid);
		err = sys3(SYS_fcntl, fd, F_SETOWN_EX, (u64)&owner);
	}
	if (err >= 0 && f->owner_signal)
		err = sys3(SYS_fcntl, fd, F_SETSIG, f->owner_signal);
	if (err >= 0 && (f->flags & O_ASYNC)) {
		fl = sys3(SYS_fcntl, fd, F_GETFL, 0);
		err = fl < 0 ? fl : sys3(SYS_fcntl, fd, F_SETFL, (u64)fl | O_ASYNC);
	}
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_SET_FILE_OWNER, index, err);
	f->owner = ~0ULL;
	f->owner_signal = 0;
	f->flags &= ~(u64)O_ASYNC;
}

/* An eventfd with its counter (written, since eventfd2 takes 32 bits). */
static long create_eventfd(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	long fd = sys3(SYS_eventfd2, 0, O_CLOEXEC | (f->flags & O_NONBLOCK) | (f->kind_flags & 1 ? EFD_SEMAPHORE : 0), 0);
	long err;

	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_EVENTFD, index, fd);
	if (f->value) {
		err = sys3(SYS_write, fd, (u64)&f->value, 8);
		if (err != 8)
			chkpt_fail(plan, CHKPT_STEP_CREATE_EVENTFD, index, err < 0 ? err : -5);
	}
	return fd;
}

/* A timerfd: armed first (timerfd_settime clears the unread expirations),
 * then its unread expirations. An absolute timer on a realtime clock keeps
 * its absolute expiry (and CANCEL_ON_SET); any other counts down what was
 * left at dump time. */
static long create_timerfd(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	long fd = sys3(SYS_timerfd_create, f->value, O_CLOEXEC | (f->flags & O_NONBLOCK), 0);
	struct itimerspec64 its;
	u64 flags = 0;
	long err;

	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_TIMERFD, index, fd);
	if (f->value1) {
		its.interval = ts_of(f->value2);
		its.value = ts_of(f->value1);
		if ((f->kind_flags & 1) && (f->value == CLOCK_REALTIME || f->value == CLOCK_REALTIME_ALARM)) {
			its.value = ts_of(f->value4);
			flags = TFD_TIMER_ABSTIME | (f->kind_flags & 2 ? TFD_TIMER_CANCEL_ON_SET : 0);
		}
		err = sys4(SYS_timerfd_settime, fd, flags, (u64)&its, 0);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_CREATE_TIMERFD, index, err);
	}
	if (f->value3) {
		err = sys3(SYS_ioctl, fd, TFD_IOC_SET_TICKS, (u64)&f->value3);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_CREATE_TIMERFD, index, err);
	}
	return fd;
}

/* A memfd: name, contents, size, position; seals last (they may forbid
 * writing). F_SEAL_SEAL among them stands for a memfd made without
 * MFD_ALLOW_SEALING. */
static long create_memfd(struct chkpt_plan *plan, struct chkpt_plan_file *f, u64 index)
{
	long fd = sys3(SYS_memfd_create, (u64)((char *)plan + f->path_offset), MFD_CLOEXEC | MFD_ALLOW_SEALING, 0);
	u64 done = 0;
	long err;

	if (fd < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_MEMFD, index, fd);
	while (done < f->data_len) {
		err = sys3(SYS_write, fd, (u64)((char *)plan + f->data_offset + done), f->data_len - done);
		if (err == -EINTR)
			continue;
		if (err <= 0)
			chkpt_fail(plan, CHKPT_STEP_CREATE_MEMFD, index, err < 0 ? err : -5);
		done += (u64)err;
	}
	err = sys3(SYS_ftruncate, fd, f->value, 0);
	if (err >= 0)
		err = sys3(SYS_lseek, fd, f->offset, 0);
	if (err >= 0 && f->value1)
		err = sys3(SYS_fcntl, fd, F_ADD_SEALS, f->value1);
	if (err >= 0 && (f->flags & (O_NONBLOCK | O_APPEND)))
		err = sys3(SYS_fcntl, fd, F_SETFL, f->flags & (O_NONBLOCK | O_APPEND));
	if (err < 0)
		chkpt_fail(plan, CHKPT_STEP_CREATE_MEMFD, index, err);
	return fd;
}

/* An epoll's interest list, once every fd of the image is in place. An
 * entry for an fd 0-2 the image inherits is left out if the caller's file
 * there cannot be watched (EPERM: a regular file, /dev/null), as epoll
 * would have refused to add it: the program sees no events from it. */
static void fill_epoll(struct chkpt_plan *plan, struct chkpt_plan_file *f)
{
	struct chkpt_plan_epoll *e = (struct chkpt_plan_epoll *)((char *)plan + f->data_offset);
	struct epoll_event64 ev;
	u64 i;
	long err;

	for (i = 0; i < f->data_len; i++) {
		ev.events = (unsigned int)e[i].events;
		ev.data = e[i].data;
		err = sys4(SYS_epoll_ctl, f->temp, EPOLL_CTL_ADD, e[i].fd, (u64)&ev);
		if ((err == -EPERM || err == -EBADF) && e[i].inherited)
			continue;
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_EPOLL_ADD, e[i].fd, err);
	}
}

/*
 * Creates files[0..nr), each kept at a temporary fd (`temp`): the image's
 * descriptions (chkpt_restore_files) and the tree's objects (tree.c, where
 * kind 0 marks a pipe end no process holds).
 */
void chkpt_create_files(struct chkpt_plan *plan, struct chkpt_plan_file *files, u64 nr)
{
	u64 i;
	long err;

	for (i = 0; i < nr; i++) {
		struct chkpt_plan_file *f = &files[i];

		if (f->temp != ~0ULL || f->kind == 0)
			continue; /* the other end of a pipe made earlier */
		if (f->kind == CHKPT_FILE_OPEN) {
			open_file(plan, f, i);
		} else if (f->kind == CHKPT_FILE_PIPE) {
			create_pipe(plan, files, i);
		} else if (f->kind == CHKPT_FILE_UNIX_PAIR) {
			create_unix_pair(plan, files, i);
		} else if (f->kind == CHKPT_FILE_DUP) {
			/* A caller without that fd has it closed, and so do the
			 * image's fds that share it, as with inherited fds 0-2. */
			err = sys3(SYS_fcntl, f->value, F_DUPFD_CLOEXEC, plan->report_min);
			if (err < 0 && err != -EBADF)
				chkpt_fail(plan, CHKPT_STEP_DUP_STDIO, i, err);
			f->temp = err < 0 ? ~0ULL : (u64)err;
		} else if (f->kind == CHKPT_FILE_EVENTFD) {
			f->temp = keep(plan, create_eventfd(plan, f, i), CHKPT_STEP_CREATE_EVENTFD, i);
		} else if (f->kind == CHKPT_FILE_SIGNALFD) {
			err = sys4(SYS_signalfd4, ~0ULL, (u64)&f->value, 8, O_CLOEXEC | (f->flags & O_NONBLOCK));
			if (err < 0)
				chkpt_fail(plan, CHKPT_STEP_CREATE_SIGNALFD, i, err);
			f->temp = keep(plan, err, CHKPT_STEP_CREATE_SIGNALFD, i);
		} else if (f->kind == CHKPT_FILE_TIMERFD) {
			f->temp = keep(plan, create_timerfd(plan, f, i), CHKPT_STEP_CREATE_TIMERFD, i);
		} else if (f->kind == CHKPT_FILE_MEMFD) {
			f->temp = keep(plan, create_memfd(plan, f, i), CHKPT_STEP_CREATE_MEMFD, i);
		} else if (f->kind == CHKPT_FILE_SOCKET) {
			f->temp = keep(plan, chkpt_create_socket(plan, f, i), CHKPT_STEP_CREATE_SOCKET, i);
		} else if (f->kind == CHKPT_FILE_TCP_RESET) {
			f->temp = keep(plan, chkpt_reset_connection(plan, f, i), CHKPT_STEP_RESET_CONNECTION, i);
		} else if (f->kind == CHKPT_FILE_DELETED) {
			f->temp = keep(plan, chkpt_create_deleted(plan, f, i), CHKPT_STEP_CREATE_DELETED_FILE, i);
		} else if (f->kind == CHKPT_FILE_INOTIFY) {
			f->temp = keep(plan, chkpt_create_inotify(plan, f, i), CHKPT_STEP_INOTIFY_WATCH, i);
		} else if (f->kind == CHKPT_FILE_FIFO) {
			f->temp = keep(plan, chkpt_open_fifo(plan, f, i), CHKPT_STEP_OPEN_FIFO, i);
		} else if (f->kind == CHKPT_FILE_PTY_MASTER) {
			chkpt_create_pty(plan, files, i, nr);
		} else if (f->kind == CHKPT_FILE_TCP_REPAIR) {
			f->temp = keep(plan, chkpt_repair_connection(plan, f, i), CHKPT_STEP_TCP_REPAIR_SOCKET, i);
		} else if (f->kind == CHKPT_FILE_EPOLL) {
			err = sys3(SYS_epoll_create1, O_CLOEXEC, 0, 0);
			if (err < 0)
				chkpt_fail(plan, CHKPT_STEP_CREATE_EPOLL, i, err);
			f->temp = keep(plan, err, CHKPT_STEP_CREATE_EPOLL, i);
			if (f->flags & O_NONBLOCK) {
				err = sys3(SYS_fcntl, f->temp, F_SETFL, O_NONBLOCK);
				if (err < 0)
					chkpt_fail(plan, CHKPT_STEP_SET_FILE_FLAGS, i, err);
			}
		} else {
			chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, i, -22);
		}
	}
	/* Once every description exists: a repaired connection whose peer
	 * is in the image too announces itself only to a peer that is back. */
	for (i = 0; i < nr; i++)
		if (files[i].kind == CHKPT_FILE_TCP_REPAIR)
			chkpt_repair_done(plan, &files[i], i);
}

void chkpt_restore_files(struct chkpt_plan *plan)
{
	struct chkpt_plan_file *files = files_of(plan);
	struct chkpt_plan_link *links = (struct chkpt_plan_link *)((char *)plan + plan->links_offset);
	u64 i;
	long err;

	chkpt_create_files(plan, files, plan->nr_files);
	for (i = 0; i < plan->nr_links; i++) {
		struct chkpt_plan_link *l = &links[i];

		if (l->file >= plan->nr_files)
			chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, l->fd, -22);
		if (files[l->file].temp == ~0ULL)
			continue;
		err = sys3(SYS_dup3, files[l->file].temp, l->fd, l->cloexec ? O_CLOEXEC : 0);
		if (err < 0)
			chkpt_fail(plan, CHKPT_STEP_PLACE_FD, l->fd, err);
		/* Links are sorted by fd: this is the description's first. */
		set_owner(plan, &files[l->file], l->fd, l->file);
	}
	/* Interest lists last: every fd they name is in place now. */
	for (i = 0; i < plan->nr_files; i++)
		if (files[i].kind == CHKPT_FILE_EPOLL && files[i].temp != ~0ULL)
			fill_epoll(plan, &files[i]);
	for (i = 0; i < plan->nr_files; i++)
		if (files[i].temp != ~0ULL)
			sys3(SYS_close, files[i].temp, 0, 0);
}
