/* dynamic [--wait-at K,...] STEPS [SLEEP_US]: a dynamically linked glibc program (libc.so,
 * ld.so, their relocated data) doing string and sorting work through libc
 * every step. Prints "ready", "step N HASH" every 100 steps, "result HASH". */
#include "common.h"
#include <string.h>

static int cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	long steps = arg_or(argc, argv, 1, 1000), us = arg_or(argc, argv, 2, 1000);
	uint32_t v[256];
	char *text = strdup("checkpoint");
	uint64_t sum = 7;
	printf("ready\n");
	for (long s = 0; s < steps; s++) {
		wait_point(s);
		for (int i = 0; i < 256; i++)
			v[i] = (uint32_t)mix64(s, i);
		qsort(v, 256, sizeof(v[0]), cmp);
		for (int i = 1; i < 256; i++)
			if (v[i - 1] > v[i])
				FAIL("step %ld: qsort result unsorted", s);
		char buf[128];
		int n = snprintf(buf, sizeof(buf), "%s-%ld-%u", text, s, v[s % 256]);
		if (n <= 0 || strlen(buf) != (size_t)n || strncmp(buf, "checkpoint-", 11))
			FAIL("step %ld: snprintf", s);
		sum = mix64(sum, v[0] ^ (uint64_t)n);
		if (s % 100 == 0)
			printf("step %ld %016llx\n", s, (unsigned long long)sum);
		sleep_us(us);
	}
	free(text);
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
