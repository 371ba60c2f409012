/* sigio [--wait-at 1]: signal-driven I/O comes back, in a process and in
 * its child. The parent reads a pipe with O_ASYNC, owned by itself, with
 * F_SETSIG SIGRTMIN+1; its child holds one end of a socket pair whose
 * other end the parent keeps, with O_ASYNC and owned by the child (SIGIO).
 * After wait point 1 (the two dumped there as a tree) the parent writes to
 * its pipe and waits for its signal (which names the fd), then writes to
 * the pair and prints what the child answers when its SIGIO came. Prints
 * one line per check and "result OK"; a signal that does not come within
 * 20 s is a FAIL (the bound only turns a lost signal into a failure). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* Waits for one of `sig` (blocked); 0 when none came in 20 s. */
static int wait_for(int sig, siginfo_t *info)
{
	sigset_t set;
	struct timespec limit = { 20, 0 };
	int got;

	sigemptyset(&set);
	sigaddset(&set, sig);
	do
		got = sigtimedwait(&set, info, &limit);
	while (got < 0 && errno == EINTR);
	return got == sig;
}

static void async_io(int fd, int sig)
{
	if (fcntl(fd, F_SETOWN, getpid()) || (sig && fcntl(fd, F_SETSIG, sig)) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK))
		FAIL("signal-driven I/O on fd %d: %s", fd, strerror(errno));
}

static void child(int s)
{
	char buf[64];
	siginfo_t info;

	for (;;) {
		if (!wait_for(SIGIO, &info)) {
			dprintf(s, "no SIGIO");
			_exit(1);
		}
		ssize_t n = read(s, buf, sizeof(buf) - 1);
		if (n == 0)
			_exit(0);
		if (n < 0)
			continue; /* a SIGIO for the peer's close, say */
		buf[n] = 0;
		dprintf(s, "child got SIGIO, then %s", buf);
	}
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int rt = SIGRTMIN + 1, p[2], sv[2], status;
	sigset_t block;
	siginfo_t info;
	char buf[64];

	sigemptyset(&block);
	sigaddset(&block, SIGIO);
	sigaddset(&block, rt);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		FAIL("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		async_io(sv[1], 0);
		/* Set up: the parent goes on only then. */
		if (write(sv[1], "r", 1) != 1)
			_exit(2);
		child(sv[1]);
	}
	close(sv[1]);
	if (read(sv[0], buf, 1) != 1 || buf[0] != 'r')
		FAIL("the child did not get ready");
	async_io(p[0], rt);
	printf("ready\n");
	wait_point(1);

	if (write(p[1], "x", 1) != 1 || !wait_for(rt, &info))
		FAIL("no SIGRTMIN+1 for the pipe");
	printf("pipe: SIGRTMIN+1 for its read end: %s, POLL_IN: %s\n", info.si_fd == p[0] ? "yes" : "no", info.si_code == POLL_IN ? "yes" : "no");
	printf("pipe owner is this process: %s\n", fcntl(p[0], F_GETOWN) == getpid() ? "yes" : "no");
	if (write(sv[0], "ping", 4) != 4)
		FAIL("write to the pair: %s", strerror(errno));
	ssize_t n;
	do
		n = read(sv[0], buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		FAIL("no answer from the child");
	buf[n] = 0;
	printf("%s\n", buf);
	close(sv[0]);
	if (wait(&status) < 0 || !WIFEXITED(status))
		FAIL("child: %s", strerror(errno));
	if (WEXITSTATUS(status))
		FAIL("child exited %d", WEXITSTATUS(status));
	printf("child exited 0\n");
	printf("result OK\n");
	return 0;
}
