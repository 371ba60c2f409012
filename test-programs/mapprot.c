/* mapprot [--wait-at 1]: read-only memory with data keeps its data, its
 * protection and its may-write access. Maps two pages of shared anonymous
 * memory (as with /dev/zero) and two of private anonymous memory, fills
 * each and makes both read-only (r--s, r--p). After wait point 1 (dumped
 * there) it checks the bytes,
 * that /proc/self/maps shows both ranges whole with their protection, and
 * that mprotect(PROT_READ | PROT_WRITE) works on both and a store sticks.
 * Prints one line per check and "result OK"; exits 1 with a FAIL line. */
#include "common.h"
#include <sys/mman.h>

/* The /proc/self/maps line of the mapping that starts at `at`: its end and
 * its permissions ("r--s"); 0 if there is none. */
static int maps_entry(void *at, unsigned long *end, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long s, e;
	char line[512];
	int found = 0;

	if (!f)
		FAIL("/proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && s == (unsigned long)at) {
			*end = e;
			found = 1;
			break;
		}
	fclose(f);
	return found;
}

static void check(const char *name, unsigned char *p, unsigned char fill, const char *want)
{
	unsigned long end = 0;
	char perms[5] = "";

	for (int i = 0; i < 8192; i++)
		if (p[i] != (unsigned char)(fill + i % 7))
			FAIL("%s: byte %d is %u, want %u", name, i, p[i], (unsigned char)(fill + i % 7));
	if (!maps_entry(p, &end, perms) || end != (unsigned long)p + 8192 || strcmp(perms, want))
		FAIL("%s: maps entry %s up to %#lx, want %s over 2 pages", name, perms, end, want);
	printf("%s: 8192 bytes kept, one maps entry %s\n", name, perms);
	if (mprotect(p, 8192, PROT_READ | PROT_WRITE))
		FAIL("%s: mprotect(PROT_WRITE): %s", name, strerror(errno));
	p[100] = 42;
	printf("%s: made writable again, store %s\n", name, p[100] == 42 ? "kept" : "LOST");
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	unsigned char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *private = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || private == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));
	for (int i = 0; i < 8192; i++) {
		shared[i] = (unsigned char)(3 + i % 7);
		private[i] = (unsigned char)(5 + i % 7);
	}
	if (mprotect(shared, 8192, PROT_READ) || mprotect(private, 8192, PROT_READ))
		FAIL("mprotect(PROT_READ): %s", strerror(errno));
	printf("ready\n");
	wait_point(1);
	check("shared", shared, 3, "r--s");
	check("private", private, 5, "r--p");
	printf("result OK\n");
	return 0;
}
