/* crashcore [--wait-at 1,2] [THREADS]: a process that leaves a core.
 * Raises its soft RLIMIT_CORE to the hard limit, starts THREADS (default
 * 3) threads that each block in a read of a pipe nobody writes, and
 * prints "ready". After wait point 2 (dumped at 1,
 * the harness releases 2 when it wants the crash) the main thread stores
 * through a null pointer: SIGSEGV, and the kernel writes a core with
 * THREADS + 1 threads. Exits 1 with a FAIL line if anything before the
 * crash is off; it never exits 0. */
#include "common.h"
#include <pthread.h>
#include <sys/resource.h>

static int block_fds[2];

static void *blocked(void *arg)
{
	char byte;
	while (read(block_fds[0], &byte, 1) < 0 && errno == EINTR)
		;
	printf("FAIL: thread %ld woke up\n", (long)arg);
	exit(1);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	long threads = arg_or(argc, argv, 1, 3);
	struct rlimit core;

	if (getrlimit(RLIMIT_CORE, &core))
		FAIL("getrlimit: %s", strerror(errno));
	if (core.rlim_max == 0)
		FAIL("hard RLIMIT_CORE is 0: no core can be written");
	core.rlim_cur = core.rlim_max;
	if (setrlimit(RLIMIT_CORE, &core))
		FAIL("setrlimit: %s", strerror(errno));
	if (pipe(block_fds))
		FAIL("pipe: %s", strerror(errno));
	for (long i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, blocked, (void *)i))
			FAIL("pthread_create");
	}
	printf("ready\n");
	wait_point(1);
	printf("restored or not, crashing at wait point 2\n");
	wait_point(2);
	volatile uintptr_t null = 0;
	*(volatile int *)null = 1;
	FAIL("still alive after the null store");
}
