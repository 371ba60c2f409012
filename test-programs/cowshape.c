/* cowshape [--wait-at 1] MODE MIB: memory for copy-on-write dumps.
 *   MIB MiB of private anonymous memory, every page written with a
 *   pattern (huge pages off, so that fork copies 4 KiB page tables), one
 *   MiB of MAP_SHARED|MAP_ANONYMOUS memory written with another, and by
 *   MODE one more private region of 16 pages, written:
 *     plain:      no advice;
 *     wipeonfork: MADV_WIPEONFORK (a fork sees it zeroed);
 *     dontfork:   MADV_DONTFORK (a fork does not get it).
 * Prints "ready", then at step 1 (its only wait point) waits; after it
 * checks every page, changes each pattern, checks again and prints
 * "result ok HASH"; FAIL and exit 1 on any page off. */
#include "common.h"
#include <sys/mman.h>

#define PAGE 4096L

static uint64_t pattern(int which, long page, long gen) { return mix64(mix64((uint64_t)which, (uint64_t)page), (uint64_t)gen); }

static void fill(uint64_t *m, long pages, int which, long gen)
{
	for (long p = 0; p < pages; p++)
		for (long w = 0; w < PAGE / 8; w += 64)
			m[p * PAGE / 8 + w] = pattern(which, p, gen) + (uint64_t)w;
}

static uint64_t check(const uint64_t *m, long pages, int which, long gen)
{
	uint64_t h = (uint64_t)which;
	for (long p = 0; p < pages; p++)
		for (long w = 0; w < PAGE / 8; w += 64) {
			uint64_t v = m[p * PAGE / 8 + w];
			if (v != pattern(which, p, gen) + (uint64_t)w)
				FAIL("region %d page %ld word %ld holds %llx", which, p, w, (unsigned long long)v);
			h = mix64(h, v);
		}
	return h;
}

static void *map(long pages, int flags)
{
	void *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		FAIL("mmap %ld pages: %s", pages, strerror(errno));
	return m;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 3)
		FAIL("usage: cowshape [--wait-at 1] plain|wipeonfork|dontfork MIB");
	const char *mode = argv[1];
	long priv = arg_or(argc, argv, 2, 64) * 256, shared = 256, extra = 16;
	int advice = !strcmp(mode, "plain") ? -1 : !strcmp(mode, "wipeonfork") ? MADV_WIPEONFORK
		   : !strcmp(mode, "dontfork") ? MADV_DONTFORK : -2;
	if (advice == -2)
		FAIL("unknown mode %s", mode);
	uint64_t *a = map(priv, MAP_PRIVATE), *s = map(shared, MAP_SHARED), *x = map(extra, MAP_PRIVATE);
	madvise(a, priv * PAGE, MADV_NOHUGEPAGE);
	if (advice >= 0 && madvise(x, extra * PAGE, advice))
		FAIL("madvise %s: %s", mode, strerror(errno));
	fill(a, priv, 1, 0);
	fill(s, shared, 2, 0);
	fill(x, extra, 3, 0);
	printf("ready\n");
	wait_point(1);
	uint64_t h = check(a, priv, 1, 0) ^ check(s, shared, 2, 0) ^ check(x, extra, 3, 0);
	fill(a, priv, 1, 1);
	fill(s, shared, 2, 1);
	fill(x, extra, 3, 1);
	h = mix64(h, check(a, priv, 1, 1) ^ check(s, shared, 2, 1) ^ check(x, extra, 3, 1));
	printf("result ok %016llx\n", (unsigned long long)h);
	return 0;
}
