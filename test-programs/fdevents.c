/* fdevents [--wait-at 1]: eventfd, signalfd, timerfd and epoll state.
 * Sets up, prints "ready", waits at step 1, then checks each itself (after
 * a restore, too) and prints what it saw:
 *  - fd 3: eventfd, count 5, EFD_SEMAPHORE, non-blocking: reads give 1;
 *  - fd 4: eventfd, count 7: one read gives 7;
 *  - fd 5: signalfd for SIGUSR1 (blocked): a raised SIGUSR1 is read there;
 *  - fd 6: timerfd, CLOCK_MONOTONIC, an hour left, an hour's interval;
 *  - fd 7: timerfd that expired once (seen with poll, not read): 1 unread;
 *  - fd 8: epoll watching fd 3 (EPOLLET, data 100), fd 4 (data 200) and a
 *    pipe read end, fd 9, with 3 bytes (EPOLLONESHOT, data 300): all three
 *    ready, then only the level-triggered one again;
 *  - fds 11, 12: one memfd "ckpt-test", "memfd contents", at offset 3,
 *    sealed against growing and shrinking.
 * Exits 1 with "FAIL: ..." if anything is off. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

static void at(int fd, int want, const char *what)
{
	if (fd != want)
		FAIL("%s: got fd %d, wanted %d (errno %s)", what, fd, want, strerror(errno));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* epoll_wait without blocking; the data words, sorted, into `out`. */
static int ready(int ep, uint64_t *out)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, 0);
	if (n < 0)
		FAIL("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		out[i] = ev[i].data.u64;
	qsort(out, n, sizeof(*out), cmp_u64);
	return n;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	at(eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK), 3, "eventfd");
	at(eventfd(7, 0), 4, "eventfd");
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	at(signalfd(-1, &usr1, 0), 5, "signalfd");
	at(timerfd_create(CLOCK_MONOTONIC, 0), 6, "timerfd");
	struct itimerspec hour = { { 3600, 0 }, { 3600, 0 } }, soon = { { 0, 0 }, { 0, 1 } };
	if (timerfd_settime(6, 0, &hour, NULL))
		FAIL("timerfd_settime: %s", strerror(errno));
	at(timerfd_create(CLOCK_MONOTONIC, 0), 7, "timerfd");
	if (timerfd_settime(7, 0, &soon, NULL))
		FAIL("timerfd_settime: %s", strerror(errno));
	/* Wait for the expiry (an event), without reading it. */
	struct pollfd pfd = { 7, POLLIN, 0 };
	if (poll(&pfd, 1, -1) != 1)
		FAIL("poll on the timerfd");
	at(epoll_create1(0), 8, "epoll");
	int p[2];
	if (pipe(p))
		FAIL("pipe");
	at(p[0], 9, "pipe");
	if (write(p[1], "abc", 3) != 3)
		FAIL("write");
	struct epoll_event e3 = { EPOLLIN | EPOLLET, { .u64 = 100 } }, e4 = { EPOLLIN, { .u64 = 200 } },
			   e9 = { EPOLLIN | EPOLLONESHOT, { .u64 = 300 } };
	if (epoll_ctl(8, EPOLL_CTL_ADD, 3, &e3) || epoll_ctl(8, EPOLL_CTL_ADD, 4, &e4) || epoll_ctl(8, EPOLL_CTL_ADD, 9, &e9))
		FAIL("epoll_ctl: %s", strerror(errno));
	at(memfd_create("ckpt-test", MFD_ALLOW_SEALING), 11, "memfd");
	if (write(11, "memfd contents", 14) != 14 || lseek(11, 3, SEEK_SET) != 3)
		FAIL("memfd write");
	if (fcntl(11, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK))
		FAIL("memfd seals: %s", strerror(errno));
	at(dup(11), 12, "dup memfd");
	printf("ready\n");

	wait_point(1);

	uint64_t d[8];
	int n = ready(8, d);
	if (n != 3 || d[0] != 100 || d[1] != 200 || d[2] != 300)
		FAIL("epoll: %d ready", n);
	n = ready(8, d);
	if (n != 1 || d[0] != 200)
		FAIL("epoll again: %d ready (edge-triggered and one-shot must not repeat)", n);
	printf("epoll: 100 200 300 ready, then 200 only\n");

	uint64_t v;
	for (int i = 0; i < 5; i++)
		if (read(3, &v, 8) != 8 || v != 1)
			FAIL("semaphore eventfd read %d", i);
	if (read(3, &v, 8) != -1 || errno != EAGAIN)
		FAIL("semaphore eventfd: more than 5, or blocking");
	if (read(4, &v, 8) != 8 || v != 7)
		FAIL("eventfd count %llu", (unsigned long long)v);
	printf("eventfd: 5 x 1 (semaphore, non-blocking), then 7\n");

	raise(SIGUSR1);
	struct signalfd_siginfo si;
	if (read(5, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR1)
		FAIL("signalfd");
	printf("signalfd: SIGUSR1\n");

	struct itimerspec left;
	if (timerfd_gettime(6, &left))
		FAIL("timerfd_gettime");
	if (left.it_interval.tv_sec != 3600 || left.it_value.tv_sec > 3600 || left.it_value.tv_sec < 3000)
		FAIL("timer: interval %ld s, %ld s left", (long)left.it_interval.tv_sec, (long)left.it_value.tv_sec);
	if (read(7, &v, 8) != 8 || v != 1)
		FAIL("expired timer: %llu expirations", (unsigned long long)v);
	printf("timerfd: an hour's interval, armed; 1 expiration unread\n");
	char buf[32] = { 0 }, link[64] = { 0 };
	if (read(12, buf, sizeof(buf)) != 11 || strcmp(buf, "fd contents") || lseek(11, 0, SEEK_CUR) != 14)
		FAIL("memfd: read %s", buf);
	if (fcntl(11, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK) || ftruncate(11, 1) != -1 || errno != EPERM)
		FAIL("memfd seals %x", fcntl(11, F_GET_SEALS));
	if (readlink("/proc/self/fd/11", link, sizeof(link) - 1) < 0 || strncmp(link, "/memfd:ckpt-test", 16))
		FAIL("memfd name: %s", link);
	printf("memfd: ckpt-test, fd contents from offset 3, sealed\n");
	printf("result ok\n");
	return 0;
}
