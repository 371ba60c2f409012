/* forktree [--wait-at 1]: a process tree for tree dumps. The parent makes
 * a data pipe (it keeps both ends), a go pipe, a ready pipe and two pages
 * of MAP_SHARED|MAP_ANONYMOUS memory, then forks:
 *   worker 1  own process group (setpgid), writes "w1" into the data pipe
 *             (left queued for the parent) and 0x1111 into the shared page;
 *   worker 2  PR_SET_PDEATHSIG(SIGTERM), writes 0x2222 into the shared page;
 *   zombie    exits at once with status 7 (not reaped until the end);
 *   stopped   stops itself (SIGSTOP) until the parent continues it.
 * Once both workers are ready, the zombie has exited (waitid WNOWAIT) and
 * the stopped child is stopped (WUNTRACED), it prints "ready" and waits at
 * step 1. Then it closes the go pipe: each worker adds its number into the
 * shared page and exits 10 + its number; it continues the stopped child,
 * which exits 9, reaps everyone, checks every status, the queued bytes
 * and the shared page, and prints "result ok". Exits 1 on any mismatch. */
#include "common.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void fail(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static volatile uint32_t *shm;

static void worker(int n, int go)
{
	char b;
	if (read(go, &b, 1) != 0) /* blocks until the parent closes it */
		_exit(50);
	__atomic_fetch_add(&shm[2], (uint32_t)n, __ATOMIC_SEQ_CST);
	_exit(10 + n);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int data[2], go[2], ready[2];
	if (pipe(data) || pipe(go) || pipe(ready))
		fail("pipe");
	shm = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		fail("mmap");
	shm[0] = 0xabcd;
	pid_t w[2];
	for (int n = 1; n <= 2; n++) {
		w[n - 1] = fork();
		if (w[n - 1] < 0)
			fail("fork");
		if (w[n - 1] == 0) {
			close(go[1]);
			close(ready[0]);
			if (n == 1) {
				if (setpgid(0, 0))
					fail("setpgid");
				if (write(data[1], "w1", 2) != 2)
					fail("write data");
				shm[1] = 0x1111;
			} else {
				if (prctl(PR_SET_PDEATHSIG, SIGTERM))
					fail("prctl");
				shm[3] = 0x2222;
			}
			if (write(ready[1], "r", 1) != 1)
				fail("write ready");
			worker(n, go[0]);
		}
	}
	pid_t z = fork();
	if (z < 0)
		fail("fork");
	if (z == 0)
		_exit(7);
	pid_t s = fork();
	if (s < 0)
		fail("fork");
	if (s == 0) {
		raise(SIGSTOP);
		_exit(9);
	}
	close(go[0]);
	close(ready[1]);
	char r[2];
	for (int got = 0; got < 2;) {
		ssize_t n = read(ready[0], r + got, 2 - got);
		if (n <= 0)
			fail("read ready");
		got += n;
	}
	siginfo_t si;
	if (waitid(P_PID, z, &si, WEXITED | WNOWAIT))
		fail("waitid zombie");
	int st;
	if (waitpid(s, &st, WUNTRACED) != s || !WIFSTOPPED(st))
		fail("waitpid stopped");
	printf("ready\n");
	wait_point(1);
	close(go[1]);
	if (kill(s, SIGCONT))
		fail("SIGCONT");
	int ok = 1;
	for (int n = 0; n < 2; n++) {
		if (waitpid(w[n], &st, 0) != w[n] || !WIFEXITED(st) || WEXITSTATUS(st) != 11 + n) {
			printf("FAIL: worker %d status %#x\n", n + 1, st);
			ok = 0;
		}
	}
	if (waitpid(z, &st, 0) != z || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
		printf("FAIL: zombie status %#x\n", st);
		ok = 0;
	}
	if (waitpid(s, &st, 0) != s || !WIFEXITED(st) || WEXITSTATUS(st) != 9) {
		printf("FAIL: stopped child status %#x\n", st);
		ok = 0;
	}
	char q[3] = {0};
	if (read(data[0], q, 2) != 2 || memcmp(q, "w1", 2)) {
		printf("FAIL: queued bytes %s\n", q);
		ok = 0;
	}
	if (shm[0] != 0xabcd || shm[1] != 0x1111 || shm[2] != 3 || shm[3] != 0x2222) {
		printf("FAIL: shared memory %x %x %x %x\n", shm[0], shm[1], shm[2], shm[3]);
		ok = 0;
	}
	printf("result %s\n", ok ? "ok" : "FAIL");
	return !ok;
}
