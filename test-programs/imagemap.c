/* imagemap [--wait-at K,...] IMAGE OTHER ITER [SLEEP_US]: maps two files MAP_PRIVATE from
 * file offset 4096 to their end, as a restorer maps an image's page runs:
 * IMAGE (a checkpoint image, or a file starting with its magic) and OTHER
 * (an ordinary file). In each mapping it writes bytes 256..511 of pages 1
 * and 4 (value 0xa0 + page index: copied on write), reads page 2 and
 * leaves the others untouched. Prints "image ADDR PAGES", "other ADDR
 * PAGES", "ready", "progress K/10" and "result HASH" (of both mappings). */
#include "common.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PG 4096

static unsigned char *map_file(const char *path, long *pages)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || st.st_size < 6 * PG || st.st_size % PG)
		FAIL("%s: need a readable file of at least 6 whole pages", path);
	*pages = st.st_size / PG - 1;
	unsigned char *p = mmap(NULL, *pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
	if (p == MAP_FAILED)
		FAIL("mmap %s", path);
	close(fd);
	memset(p + 1 * PG + 256, 0xa0 + 1, 256);
	memset(p + 4 * PG + 256, 0xa0 + 4, 256);
	volatile unsigned char sink = p[2 * PG + 17];
	(void)sink;
	return p;
}

static uint64_t hash_map(uint64_t h, const unsigned char *p, long pages)
{
	for (long i = 0; i < pages * PG; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		h = mix64(h, v);
	}
	return h;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 4)
		FAIL("usage: imagemap IMAGE OTHER ITER [SLEEP_US]");
	long iter = arg_or(argc, argv, 3, 100), us = arg_or(argc, argv, 4, 1000);
	long n_img, n_other;
	unsigned char *img = map_file(argv[1], &n_img);
	unsigned char *other = map_file(argv[2], &n_other);
	printf("image %p %ld\nother %p %ld\nready\n", (void *)img, n_img, (void *)other, n_other);
	long step = iter / 10 ? iter / 10 : 1;
	uint64_t h = 0;
	for (long i = 1; i <= iter; i++) {
		wait_point(i);
		if (i % step == 0 && i / step <= 10) {
			h = hash_map(hash_map(h, img, n_img), other, n_other);
			printf("progress %ld/10\n", i / step);
		}
		sleep_us(us);
	}
	printf("result %016llx\n", (unsigned long long)h);
	return 0;
}
