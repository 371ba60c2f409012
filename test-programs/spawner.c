/* spawner [--wait-at K,...] STEPS [SLEEP_US]: every step creates 4 short-lived threads,
 * each computing a hash, and joins them, so threads are constantly being
 * created and exiting while a dump attaches. Prints "ready", "step N HASH"
 * every 100 steps and "result HASH". */
#include "common.h"
#include <pthread.h>

struct job {
	pthread_t th;
	uint64_t in, out;
};

static void *run(void *p)
{
	struct job *j = p;
	uint64_t h = j->in;
	for (int i = 0; i < 1000; i++)
		h = mix64(h, i);
	j->out = h;
	return NULL;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	long steps = arg_or(argc, argv, 1, 1000), us = arg_or(argc, argv, 2, 200);
	uint64_t sum = 3;
	printf("ready\n");
	for (long s = 0; s < steps; s++) {
		wait_point(s);
		struct job jobs[4];
		for (int k = 0; k < 4; k++) {
			jobs[k].in = mix64(s, k);
			if (pthread_create(&jobs[k].th, NULL, run, &jobs[k]))
				FAIL("step %ld: pthread_create", s);
		}
		for (int k = 0; k < 4; k++) {
			pthread_join(jobs[k].th, NULL);
			sum = mix64(sum, jobs[k].out);
		}
		if (s % 100 == 0)
			printf("step %ld %016llx\n", s, (unsigned long long)sum);
		sleep_us(us);
	}
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
