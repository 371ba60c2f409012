/* growmap [--wait-at 1,2] MIB: memory that grows while the process runs,
 * for the migration test whose receiver must rewrite its image (the
 * layout changed since the tracking freeze). Maps MIB MiB of private
 * anonymous memory and writes a pattern into every page, prints "ready",
 * then at wait point 1 blocks (the test starts the migration there).
 * After it: maps a new 1 MiB region, writes its pattern, prints "mapped",
 * and blocks at wait point 2 (the migration ends there). After it: checks
 * every page of both regions, prints "result HASH", or a FAIL line and
 * exits 1. */
#include "common.h"
#include <sys/mman.h>

#define PAGE 4096

static void fill(uint8_t *base, long pages, uint64_t seed)
{
	for (long p = 0; p < pages; p++) {
		uint64_t *w = (uint64_t *)(base + p * PAGE);
		for (int i = 0; i < PAGE / 8; i++)
			w[i] = mix64(seed + p, i);
	}
}

static uint64_t check(uint8_t *base, long pages, uint64_t seed, const char *what)
{
	uint64_t h = seed;
	for (long p = 0; p < pages; p++) {
		uint64_t *w = (uint64_t *)(base + p * PAGE);
		for (int i = 0; i < PAGE / 8; i++) {
			if (w[i] != mix64(seed + p, i))
				FAIL("%s page %ld word %d does not hold its pattern", what, p, i);
			h = mix64(h, w[i]);
		}
	}
	return h;
}

static uint8_t *map(long pages)
{
	uint8_t *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		FAIL("mmap %ld pages: %s", pages, strerror(errno));
	return m;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	long first = arg_or(argc, argv, 1, 64) * 256, second = 256;
	uint8_t *a = map(first);
	fill(a, first, 1);
	printf("ready\n");
	wait_point(1);
	uint8_t *b = map(second);
	fill(b, second, 1u << 30);
	printf("mapped\n");
	wait_point(2);
	uint64_t h = check(a, first, 1, "first") ^ check(b, second, 1u << 30, "second");
	printf("result %016llx\n", (unsigned long long)h);
	return 0;
}
