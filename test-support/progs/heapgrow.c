/* heapgrow [--wait-at K,...] STEPS [SLEEP_US]: glibc malloc after a restore. Every step
 * allocates a block (sizes cycling from 16 bytes to 256 KiB, so both the
 * brk arena and mmap are asked for more), fills it, frees every third one,
 * and checks every live block; the heap grows well past what it held at
 * the dump. Prints "ready", "step N HASH" every 50 steps, "result HASH".
 * Wait points (test-programs/common.h) are steps. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "../../test-programs/common.h"

#define MAXB 4096

static unsigned char *blk[MAXB];
static size_t len[MAXB];

int main(int argc, char **argv)
{
	/* Only fds 0-2 from whoever started us (the test harness leaks pipes). */
	setup_common(&argc, &argv);
	long steps = argc > 1 ? atol(argv[1]) : 1000, us = argc > 2 ? atol(argv[2]) : 1000;
	uint64_t h = 1469598103934665603ULL;
	printf("ready\n");
	for (long s = 0; s < steps && s < MAXB; s++) {
		wait_point(s);
		len[s] = (size_t)16 << (s % 15);
		blk[s] = malloc(len[s]);
		if (!blk[s]) { printf("FAIL: malloc %zu\n", len[s]); return 1; }
		memset(blk[s], (int)(s & 0xff), len[s]);
		if (s % 3 == 2) { free(blk[s - 1]); blk[s - 1] = NULL; }
		for (long i = 0; i <= s; i++) {
			if (!blk[i]) continue;
			if (blk[i][0] != (unsigned char)(i & 0xff) || blk[i][len[i] - 1] != (unsigned char)(i & 0xff)) {
				printf("FAIL: block %ld\n", i); return 1;
			}
		}
		h = (h ^ (uint64_t)len[s] ^ (uint64_t)s) * 1099511628211ULL;
		if (s % 50 == 0)
			printf("step %ld %016llx\n", s, (unsigned long long)h);
		struct timespec ts = { 0, us * 1000 };
		nanosleep(&ts, NULL);
	}
	printf("result %016llx\n", (unsigned long long)h);
	return 0;
}
