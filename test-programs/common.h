/* Shared helpers of the test programs: deterministic output, a hash,
 * sleeping that survives signals, and a clean fd table. */
#ifndef TEST_COMMON_H
#define TEST_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

/* Line-buffered stdout (tests read it through a pipe) and no fds but 0-2
 * inherited from whoever started us. */
static inline void setup_common(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	syscall(SYS_close_range, 3U, ~0U, 0U);
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
