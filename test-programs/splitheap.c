/* splitheap [--wait-at K,...] IMAGE ITER [SLEEP_US]: a heap as a restorer leaves it. It grows
 * the heap by 8 pages with sbrk (page i filled with 0x10 + i), then maps
 * pages 1-2 of IMAGE (a checkpoint image, or a file starting with its
 * magic) MAP_PRIVATE|MAP_FIXED over heap pages 3-4 and writes bytes
 * 256..511 of heap page 3 (0xb1): /proc then shows [heap], the file,
 * [heap]. Prints "heap ADDR 8", "ready", "progress K/10" and "result HASH"
 * (of the 8 pages). */
#include "common.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#define PG 4096
#define PAGES 8

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 3)
		FAIL("usage: splitheap IMAGE ITER [SLEEP_US]");
	long iter = arg_or(argc, argv, 2, 100), us = arg_or(argc, argv, 3, 1000);
	/* stdio allocates its buffer (from the heap) before the heap is split. */
	printf("splitting the heap\n");
	uintptr_t cur = (uintptr_t)sbrk(0);
	uintptr_t base = (cur + PG - 1) & ~(uintptr_t)(PG - 1);
	if (sbrk((intptr_t)(base - cur) + PAGES * PG) == (void *)-1)
		FAIL("sbrk");
	unsigned char *heap = (unsigned char *)base;
	for (int i = 0; i < PAGES; i++)
		memset(heap + i * PG, 0x10 + i, PG);
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || mmap(heap + 3 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, PG) == MAP_FAILED)
		FAIL("mapping %s into the heap", argv[1]);
	close(fd);
	memset(heap + 3 * PG + 256, 0xb1, 256);
	printf("heap %p %d\nready\n", (void *)heap, PAGES);
	long step = iter / 10 ? iter / 10 : 1;
	uint64_t h = 0;
	for (long i = 1; i <= iter; i++) {
		wait_point(i);
		if (i % step == 0 && i / step <= 10) {
			for (int k = 0; k < PAGES * PG; k += 8) {
				uint64_t v;
				memcpy(&v, heap + k, 8);
				h = mix64(h, v);
			}
			printf("progress %ld/10\n", i / step);
		}
		sleep_us(us);
	}
	printf("result %016llx\n", (unsigned long long)h);
	return 0;
}
