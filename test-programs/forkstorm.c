/* forkstorm [--wait-at 1]: a parent whose worker child forks and reaps
 * short-lived grandchildren without a pause, so that a dump of the tree
 * meets processes being born and exiting while it freezes. Prints
 * "ready" once the worker has reaped its first grandchild, waits at step
 * 1, then stops the worker (closing a pipe it polls), checks the worker's
 * count and status, and prints "result ok". Exits 1 on any mismatch. */
#include "common.h"
#include <fcntl.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int stop[2], first[2];
	if (pipe(stop) || pipe(first))
		return printf("FAIL: pipe\n"), 1;
	pid_t w = fork();
	if (w < 0)
		return printf("FAIL: fork\n"), 1;
	if (w == 0) {
		close(stop[1]);
		close(first[0]);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		long n = 0;
		char b;
		/* Until the parent closes the stop pipe (read gives 0). */
		while (read(stop[0], &b, 1) < 0) {
			pid_t g = fork();
			if (g < 0)
				_exit(40);
			if (g == 0)
				_exit((int)(n & 0x7f));
			int st;
			if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != (n & 0x7f))
				_exit(41);
			if (n++ == 0 && (write(first[1], "1", 1) != 1 || close(first[1])))
				_exit(42);
		}
		_exit(n > 0 ? 0 : 43);
	}
	close(stop[0]);
	close(first[1]);
	char b;
	if (read(first[0], &b, 1) != 1)
		return printf("FAIL: the worker never reaped a child\n"), 1;
	printf("ready\n");
	wait_point(1);
	close(stop[1]);
	int st;
	if (waitpid(w, &st, 0) != w || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("FAIL: worker status %#x\n", st);
		return 1;
	}
	printf("result ok\n");
	return 0;
}
