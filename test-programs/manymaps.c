/* manymaps N: N one-page private anonymous mappings side by side, their
 * protections alternating (read-write, read-only) so that the kernel
 * cannot merge them, between two PROT_NONE guard pages. None is touched,
 * so a dump stores no page of them and each is one mapping when restored:
 * an image with N mappings, for the module's long-restore tests.
 *
 * Prints "region START END" and "ready" on stderr, then waits for one byte
 * on stdin. After it, prints CLOCK_MONOTONIC in nanoseconds on stdout (the
 * protocol of exec-latency, which times a restore up to this point), then
 * checks /proc/self/maps: exactly the N mappings, one page each, with their
 * protections; every page reads zero and the writable ones take a write.
 * Prints "result ok N mappings" on stderr, or FAIL and exits 1. */
#include "common.h"
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096L

static int writable(long i) { return i % 2 == 0; }

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	setvbuf(stderr, NULL, _IOLBF, 0);
	long n = arg_or(argc, argv, 1, 60000);
	if (n < 1)
		FAIL("usage: manymaps N");
	/* Guard pages at both ends keep the first and last mapping from
	 * merging with a neighbour of the same protection. */
	char *guard = mmap(NULL, (n + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (guard == MAP_FAILED)
		FAIL("mmap %ld pages", n + 2);
	char *base = guard + PAGE;
	for (long i = 0; i < n; i++)
		if (mprotect(base + i * PAGE, PAGE, writable(i) ? PROT_READ | PROT_WRITE : PROT_READ))
			FAIL("mprotect page %ld: %s", i, strerror(errno));
	fprintf(stderr, "region %p %p\nready\n", (void *)base, (void *)(base + n * PAGE));

	char byte;
	if (read(0, &byte, 1) != 1)
		FAIL("no byte on stdin");
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fflush(stdout);

	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		FAIL("open /proc/self/maps");
	char line[512];
	long seen = 0;
	unsigned long lo = (unsigned long)base, hi = (unsigned long)(base + n * PAGE);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long s, e;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) != 3)
			FAIL("bad maps line: %s", line);
		if (e <= lo || s >= hi)
			continue;
		long i = (long)((s - lo) / PAGE);
		if (s < lo || e > hi || e - s != PAGE || i != seen)
			FAIL("mapping %ld: %s", seen, line);
		if (strcmp(perms, writable(i) ? "rw-p" : "r--p"))
			FAIL("mapping %ld has %s: %s", i, perms, line);
		seen++;
	}
	fclose(maps);
	if (seen != n)
		FAIL("%ld of %ld mappings after restore", seen, n);
	for (long i = 0; i < n; i++) {
		volatile char *p = base + i * PAGE;
		if (p[0] != 0 || p[PAGE - 1] != 0)
			FAIL("page %ld is not zero", i);
		if (writable(i)) {
			p[0] = 1;
			if (p[0] != 1)
				FAIL("page %ld kept no write", i);
		}
	}
	fprintf(stderr, "result ok %ld mappings\n", n);
	return 0;
}
