/* Shared helpers of the test programs: deterministic output, a hash,
 * sleeping that survives signals, a clean fd table, and wait points. */
#ifndef TEST_COMMON_H
#define TEST_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

/* Wait points, so that tests wait for an event instead of racing a
 * timer: with "--wait-at K[,K...]" before its other arguments, a program
 * stops at each step K (each program says what its step is), prints
 * "waiting at K" and blocks in a read of one byte from stdin. One byte,
 * end of file or a closed stdin lets it go on. A test dumps the program
 * while it waits there (it cannot have finished), and restores the image
 * with stdin at end of file (it goes on at once) or a FIFO (it waits
 * again at the next wait point, where the test can look at the restored
 * process). An uninterrupted reference run with stdin at end of file
 * prints the same lines. */
#define MAX_WAITS 8
static long wait_steps[MAX_WAITS];
static int n_waits;

static inline void wait_point(long step)
{
	for (int i = 0; i < n_waits; i++) {
		if (wait_steps[i] != step)
			continue;
		char byte;
		ssize_t n;
		printf("waiting at %ld\n", step);
		fflush(stdout);
		do
			n = read(0, &byte, 1);
		while (n < 0 && errno == EINTR);
		/* No stdin at all (closed at the execve) waits for nothing. */
		if (n < 0 && errno != EBADF) {
			printf("FAIL: waiting at %ld: read from stdin: %s\n", step, strerror(errno));
			exit(1);
		}
		return;
	}
}

/* Line-buffered stdout (tests read it through a pipe), no fds but 0-2
 * inherited from whoever started us, and the wait points taken off the
 * arguments (argv[0] stays; the program's own arguments follow it). */
static inline void setup_common(int *argc, char ***argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (*argc > 2 && !strcmp((*argv)[1], "--wait-at")) {
		char *p = (*argv)[2], *end;
		while (*p) {
			if (n_waits == MAX_WAITS) {
				printf("FAIL: more than %d wait points\n", MAX_WAITS);
				exit(2);
			}
			wait_steps[n_waits++] = strtol(p, &end, 10);
			if (end == p || (*end && *end != ',')) {
				printf("FAIL: --wait-at wants K[,K...], not %s\n", (*argv)[2]);
				exit(2);
			}
			p = *end ? end + 1 : end;
		}
		(*argv)[2] = (*argv)[0];
		*argv += 2;
		*argc -= 2;
	}
}

/* 64-bit mix (splitmix64 finaliser). */
static inline uint64_t mix64(uint64_t h, uint64_t v)
{
	uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Sleeps `us` microseconds, continuing after signal handlers. */
static inline void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static inline long arg_or(int argc, char **argv, int i, long dflt)
{
	return argc > i ? strtol(argv[i], NULL, 0) : dflt;
}

#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); exit(1); } while (0)

#endif
