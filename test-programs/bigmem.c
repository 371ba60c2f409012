/* bigmem [--wait-at K,...] MIB STEPS [SLEEP_US]: maps MIB MiB of private anonymous memory,
 * writes a known pattern into every page except every 16th page (never
 * touched) and pages 1024..1087 (written, then dropped with
 * MADV_DONTNEED), and verifies a slice of the written pages every step
 * (without reading holes, which would map the zero page) and the whole
 * mapping, holes reading as zero, at the end. Huge pages are disabled for
 * the mapping so that exactly the written pages are present, unless the
 * environment has BIGMEM_HUGE=1: then the mapping asks for transparent
 * huge pages (MADV_HUGEPAGE; holes inside a huge page are present, zero).
 * Prints "region START END",
 * "touched N", "ready", "step N", "result HASH". */
#include "common.h"
#include <sys/mman.h>

#define PAGE 4096

static int is_hole(long p) { return p % 16 == 5 || (p >= 1024 && p < 1088); }
static uint64_t word(long p, int which) { return mix64((uint64_t)p, which); }

static uint64_t check_page(uint8_t *base, long p)
{
	uint64_t *w = (uint64_t *)(base + p * PAGE);
	uint64_t a = is_hole(p) ? 0 : word(p, 0), b = is_hole(p) ? 0 : word(p, 1);
	if (w[0] != a || w[PAGE / 8 - 1] != b || w[PAGE / 16] != (is_hole(p) ? 0 : (uint64_t)p))
		FAIL("page %ld does not hold its pattern", p);
	return a ^ b;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	long mib = arg_or(argc, argv, 1, 256), steps = arg_or(argc, argv, 2, 100), us = arg_or(argc, argv, 3, 10000);
	long pages = mib * 256;
	uint8_t *base = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		FAIL("mmap %ld MiB", mib);
	const char *huge = getenv("BIGMEM_HUGE");
	madvise(base, pages * PAGE, huge && !strcmp(huge, "1") ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	long touched = 0;
	for (long p = 0; p < pages; p++) {
		if (p % 16 == 5)
			continue;
		uint64_t *w = (uint64_t *)(base + p * PAGE);
		w[0] = word(p, 0);
		w[PAGE / 8 - 1] = word(p, 1);
		w[PAGE / 16] = p;
		touched++;
	}
	if (pages > 1088) {
		madvise(base + 1024L * PAGE, 64L * PAGE, MADV_DONTNEED);
		touched -= 60; /* 64 pages minus the 4 that were never touched */
	}
	printf("region %p %p\ntouched %ld\nready\n", (void *)base, (void *)(base + pages * PAGE), touched);
	uint64_t sum = 0;
	long slice = pages / (steps > 0 ? steps : 1) + 1;
	for (long s = 0; s < steps; s++) {
		wait_point(s);
		for (long p = s * slice; p < (s + 1) * slice && p < pages; p++)
			if (!is_hole(p))
				sum = mix64(sum, check_page(base, p));
		if (s % 10 == 0)
			printf("step %ld\n", s);
		sleep_us(us);
	}
	for (long p = 0; p < pages; p++)
		sum = mix64(sum, check_page(base, p));
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
