/* A memfd and a deleted file, each held as an fd and mapped MAP_SHARED,
 * the deleted file through a mapping at file offset 4096. Before the
 * dump point (step 1) each is written through the fd and through the
 * mapping; after it the program checks that both writes are seen both
 * ways, that new writes through the fd show in the mapping and the other
 * way round (one object, not two copies), that the pages outside the
 * written bytes hold the pattern written at setup, and exits non-zero on
 * a mismatch. Usage: fdmaps [--wait-at 1] DIR */
#include "common.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define SIZE (3 * 4096)

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", what, ok ? "ok" : "WRONG");
	if (!ok)
		failed = 1;
}

static char pattern(long i)
{
	return (char)('a' + (i * 11) % 26);
}

/* Writes through fd and mapping before the dump; checks afterwards.
 * `map` maps the file from byte `off`. */
static void setup(int fd, char *map, long off)
{
	char buf[SIZE];
	long i;

	for (i = 0; i < SIZE; i++)
		buf[i] = pattern(i);
	if (pwrite(fd, buf, SIZE, 0) != SIZE)
		FAIL("setup write");
	if (pwrite(fd, "via-fd", 6, off + 100) != 6)
		FAIL("setup pwrite");
	memcpy(map + 200, "via-map", 7);
}

static void verify(const char *name, int fd, char *map, long off)
{
	char got[SIZE], what[128];
	long i;
	int same = 1;

	snprintf(what, sizeof what, "%s: fd's write seen in the mapping", name);
	check(memcmp(map + 100, "via-fd", 6) == 0, what);
	snprintf(what, sizeof what, "%s: mapping's write seen through the fd", name);
	check(pread(fd, got, 7, off + 200) == 7 && memcmp(got, "via-map", 7) == 0, what);
	if (pread(fd, got, SIZE, 0) != SIZE)
		same = 0;
	for (i = 0; same && i < SIZE; i++) {
		long m = i - off;
		int touched = (m >= 100 && m < 106) || (m >= 200 && m < 207);
		same &= touched || got[i] == pattern(i);
	}
	snprintf(what, sizeof what, "%s: contents", name);
	check(same, what);
	if (pwrite(fd, "after-fd", 8, off + 300) != 8)
		same = 0;
	snprintf(what, sizeof what, "%s: new fd write seen in the mapping", name);
	check(memcmp(map + 300, "after-fd", 8) == 0, what);
	memcpy(map + 400, "after-map", 9);
	snprintf(what, sizeof what, "%s: new mapping write seen through the fd", name);
	check(pread(fd, got, 9, off + 400) == 9 && memcmp(got, "after-map", 9) == 0, what);
}

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st;

	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: fdmaps [--wait-at 1] DIR");
	int m = memfd_create("fdmaps", 0);
	snprintf(path, sizeof path, "%s/fdmaps-data", argv[1]);
	int d = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (m < 0 || d < 0 || ftruncate(m, SIZE) || ftruncate(d, SIZE) || unlink(path))
		FAIL("setup: %s", strerror(errno));
	char *mm = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	char *dm = mmap(NULL, SIZE - 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d, 4096);
	if (mm == MAP_FAILED || dm == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));
	setup(m, mm, 0);
	setup(d, dm, 4096);
	printf("ready\n");
	wait_point(1);

	verify("memfd", m, mm, 0);
	verify("deleted", d, dm, 4096);
	check(fstat(d, &st) == 0 && st.st_nlink == 0 && st.st_size == SIZE, "deleted: still unlinked, size");
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}
