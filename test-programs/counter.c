/* counter [--wait-at K,...] STEPS [SLEEP_US]: one thread, a heap array it updates and
 * checks every step. Prints "ready", "step N HASH" every 100 steps and
 * "result HASH". */
#include "common.h"

#define N 4096

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	long steps = arg_or(argc, argv, 1, 1000), us = arg_or(argc, argv, 2, 1000);
	uint64_t *a = malloc(N * sizeof(*a));
	if (!a)
		FAIL("malloc");
	for (long i = 0; i < N; i++)
		a[i] = (uint64_t)i * 2654435761u;
	uint64_t sum = 1;
	printf("ready\n");
	for (long s = 0; s < steps; s++) {
		wait_point(s);
		for (long i = 0; i < N; i++) {
			if (a[i] != (uint64_t)i * 2654435761u + s)
				FAIL("step %ld: a[%ld] is %llx", s, i, (unsigned long long)a[i]);
			a[i]++;
		}
		sum = mix64(sum, a[s % N]);
		if (s % 100 == 0)
			printf("step %ld %016llx\n", s, (unsigned long long)sum);
		sleep_us(us);
	}
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
