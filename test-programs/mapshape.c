/* mapshape maps N | mapshape sparse GIB: a memory layout at a restorer's
 * limits, then "ready", a blocking read of one line on stdin (where it is
 * dumped), then a check of every page it wrote and "result ok HASH".
 *   maps N:     N one-page private anonymous mappings, each written, with
 *               protections alternating so that none merge (N VMAs).
 *   sparse GIB: one private MAP_NORESERVE mapping of GIB GiB, larger than
 *               this machine's memory, with 16 pages written across it. */
#include "common.h"
#include <string.h>
#include <sys/mman.h>

static uint64_t stamp(uint64_t i) { return mix64(0x5eed, i); }

static void wait_for_line(void)
{
	char buf[64];
	printf("ready\n");
	if (!fgets(buf, sizeof(buf), stdin))
		FAIL("stdin closed before the go line");
}

static int many_maps(long n)
{
	uint64_t **pages = malloc(n * sizeof(*pages));
	if (!pages)
		FAIL("malloc");
	for (long i = 0; i < n; i++) {
		pages[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pages[i] == MAP_FAILED)
			FAIL("mmap %ld", i);
		pages[i][0] = stamp(i);
		if (i % 2 && mprotect(pages[i], 4096, PROT_READ))
			FAIL("mprotect %ld", i);
	}
	wait_for_line();
	uint64_t h = 1;
	for (long i = 0; i < n; i++) {
		if (pages[i][0] != stamp(i))
			FAIL("page %ld holds %llx", i, (unsigned long long)pages[i][0]);
		h = mix64(h, pages[i][0]);
	}
	printf("result ok %016llx\n", (unsigned long long)h);
	return 0;
}

static int sparse(long gib)
{
	size_t len = (size_t)gib << 30;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		FAIL("mmap %ld GiB", gib);
	for (int i = 0; i < 16; i++)
		memcpy(p + i * (len / 16), &(uint64_t){ stamp(i) }, 8);
	wait_for_line();
	uint64_t h = 1;
	for (int i = 0; i < 16; i++) {
		uint64_t v;
		memcpy(&v, p + i * (len / 16), 8);
		if (v != stamp(i))
			FAIL("piece %d holds %llx", i, (unsigned long long)v);
		h = mix64(h, v);
	}
	printf("result ok %016llx\n", (unsigned long long)h);
	return 0;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc == 3 && !strcmp(argv[1], "maps"))
		return many_maps(strtol(argv[2], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "sparse"))
		return sparse(strtol(argv[2], NULL, 0));
	fprintf(stderr, "usage: mapshape maps N | mapshape sparse GIB\n");
	return 2;
}
