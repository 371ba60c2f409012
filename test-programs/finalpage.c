/* finalpage [--wait-at K,...] STUB_BIN ITER [SLEEP_US]: looks like a restored process. It maps
 * the restorer stub's final page (the last page of STUB_BIN, built by
 * restorer/stub) as a restorer leaves it: one private anonymous r-x page.
 * Beside it, for contrast, an ordinary r-x anonymous page and a writable
 * page holding the same bytes as the final page; PROT_NONE guard pages
 * keep the three from merging with each other or their neighbours.
 * Prints "final ADDR", "plain ADDR", "writable ADDR", "ready",
 * "progress K/10" and "result HASH" (a hash of the three pages). */
#include "common.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PG 4096

static uint64_t hash_page(uint64_t h, const unsigned char *p)
{
	for (int i = 0; i < PG; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		h = mix64(h, v);
	}
	return h;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 3)
		FAIL("usage: finalpage STUB_BIN ITER [SLEEP_US]");
	long iter = arg_or(argc, argv, 2, 100), us = arg_or(argc, argv, 3, 1000);
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || st.st_size < PG || st.st_size % PG)
		FAIL("cannot read a page-sized stub from %s", argv[1]);
	/* guard, final, guard, plain, guard, writable, guard */
	unsigned char *base = mmap(NULL, 7 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		FAIL("mmap");
	unsigned char *final = base + PG, *plain = base + 3 * PG, *writable = base + 5 * PG;
	for (int i = 1; i < 6; i += 2)
		if (mprotect(base + i * PG, PG, PROT_READ | PROT_WRITE))
			FAIL("mprotect rw");
	if (pread(fd, final, PG, st.st_size - PG) != PG)
		FAIL("reading the final page");
	close(fd);
	memcpy(writable, final, PG);
	for (int i = 0; i < PG; i++)
		plain[i] = (unsigned char)(0xc3 ^ i);
	if (mprotect(final, PG, PROT_READ | PROT_EXEC) || mprotect(plain, PG, PROT_READ | PROT_EXEC))
		FAIL("mprotect r-x");
	printf("final %p\nplain %p\nwritable %p\nready\n", (void *)final, (void *)plain, (void *)writable);
	long step = iter / 10 ? iter / 10 : 1;
	uint64_t h = 0;
	for (long i = 1; i <= iter; i++) {
		wait_point(i);
		h = hash_page(hash_page(hash_page(h, final), plain), writable);
		if (i % step == 0 && i / step <= 10)
			printf("progress %ld/10\n", i / step);
		sleep_us(us);
	}
	printf("result %016llx\n", (unsigned long long)h);
	return 0;
}
