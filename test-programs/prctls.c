/* prctls [--wait-at 1] [--seccomp]: what prctl(2) sets on a process comes
 * back with it. Sets a parent-death signal (SIGUSR2), the child subreaper
 * mark, no_new_privs and "not dumpable"; after wait point 1 (dumped there)
 * it reads each back and checks that a reaped orphan reaches it (the
 * subreaper mark at work). With --strict it enters seccomp strict mode
 * instead, which a dump must refuse, and after the wait point only writes
 * "result OK" and exits (all strict mode allows). Prints one line per
 * check and "result OK"; exits 1 with a FAIL line. */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static void check(int ok, const char *what)
{
	if (!ok)
		FAIL("%s", what);
	printf("%s ok\n", what);
}

int main(int argc, char **argv)
{
	int sig = 0, reaper = 0;

	setup_common(&argc, &argv);
	if (argc > 1 && !strcmp(argv[1], "--strict")) {
		printf("ready\n");
		fflush(stdout);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
			FAIL("seccomp: %s", strerror(errno));
		wait_point(1);
		if (write(1, "result OK\n", 10) != 10)
			syscall(SYS_exit, 1);
		syscall(SYS_exit, 0);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGUSR2) || prctl(PR_SET_CHILD_SUBREAPER, 1) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0))
		FAIL("prctl: %s", strerror(errno));
	printf("ready\n");
	wait_point(1);
	check(!prctl(PR_GET_PDEATHSIG, &sig) && sig == SIGUSR2, "parent-death signal");
	check(!prctl(PR_GET_CHILD_SUBREAPER, &reaper) && reaper == 1, "child subreaper");
	check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs");
	check(prctl(PR_GET_DUMPABLE) == 0, "not dumpable");
	/* A grandchild orphaned by its parent is reparented to us. */
	pid_t child = fork();
	if (child == 0) {
		if (fork() == 0)
			_exit(42);
		_exit(0);
	}
	int status, got42 = 0;
	pid_t pid;
	while ((pid = wait(&status)) > 0)
		if (pid != child && WIFEXITED(status) && WEXITSTATUS(status) == 42)
			got42 = 1;
	check(got42, "orphan reaped here");
	printf("result OK\n");
	return 0;
}
