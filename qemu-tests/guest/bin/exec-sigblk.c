/* exec-sigblk FILE: execve FILE traced, stop it where the new program is
 * about to run its first instruction (PTRACE_EVENT_EXEC: a ptrace stop
 * inside execve, after the loader returned, which no signal mask delays,
 * unlike the plain SIGTRAP a traced exec otherwise gets), and check the
 * signal mask it starts with (SigBlk in /proc/PID/status): SIGKILL and
 * SIGSTOP must not be in it. The kernel never lets a program block them;
 * a loader that puts them in the mask leaves a process that kill -9
 * cannot end until its code changes the mask. Prints the mask; exits 0
 * if neither is blocked, 1 if one is, 2 if the check could not be made
 * (the reason on stderr). The traced program is killed either way (run
 * it with stdin at end of file: with SIGKILL blocked it dies only once
 * its own code has run). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
	perror(what);
	return 2;
}

int main(int argc, char **argv)
{
	extern char **environ;
	char path[64], line[256];
	unsigned long long blk = 0;
	int status, found = 0;
	FILE *f;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: exec-sigblk FILE [ARGS...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(3);
		raise(SIGSTOP); /* for the tracer to set its options */
		execve(argv[1], argv + 1, environ);
		perror(argv[1]);
		_exit(4);
	}
	if (waitpid(pid, &status, 0) < 0)
		return fail("waitpid");
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		fprintf(stderr, "exec-sigblk: the child did not stop before its exec (wait status %#x)\n", status);
		return 2;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACEEXEC) < 0 || ptrace(PTRACE_CONT, pid, NULL, NULL) < 0) {
		kill(pid, SIGKILL);
		return fail("ptrace");
	}
	if (waitpid(pid, &status, 0) < 0)
		return fail("waitpid");
	if (!WIFSTOPPED(status) || status >> 8 != (SIGTRAP | PTRACE_EVENT_EXEC << 8)) {
		kill(pid, SIGKILL);
		fprintf(stderr, "exec-sigblk: %s did not stop at its exec (wait status %#x)\n", argv[1], status);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f) {
		kill(pid, SIGKILL);
		return fail(path);
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &blk) == 1)
			found = 1;
	fclose(f);
	/* With SIGKILL blocked the kill only queues it and the stopped
	 * tracee stays stopped: detached, it runs until its own code unblocks
	 * SIGKILL, which then ends it. */
	kill(pid, SIGKILL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	waitpid(pid, &status, 0);
	if (!found) {
		fprintf(stderr, "exec-sigblk: no SigBlk line in %s\n", path);
		return 2;
	}
	printf("SigBlk %016llx\n", blk);
	if (blk & (1ULL << (SIGKILL - 1) | 1ULL << (SIGSTOP - 1))) {
		fprintf(stderr, "exec-sigblk: %s starts with SIGKILL or SIGSTOP blocked\n", argv[1]);
		return 1;
	}
	return 0;
}
