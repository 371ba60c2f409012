/* mapflags [--wait-at 1] [--for-cow]: what mlock(2), madvise(2) and PR_SET_THP_DISABLE
 * set on memory comes back with it. Maps eight anonymous regions, fills
 * each with its own bytes and sets one state on each: mlock,
 * MADV_DONTFORK, MADV_WIPEONFORK, MADV_DONTDUMP, MADV_HUGEPAGE,
 * MADV_NOHUGEPAGE, MADV_SEQUENTIAL, MADV_RANDOM (the huge page ones only
 * where the kernel has transparent huge pages; else it says so), and
 * disables THP for the process. After wait point 1 (dumped there) it
 * checks, for each region, its bytes and its VmFlags in /proc/self/smaps
 * (exactly the state set, of these eight), VmLck in /proc/self/status,
 * PR_GET_THP_DISABLE, and what the states do: a fork's child finds no
 * DONTFORK region and a zeroed WIPEONFORK one, and the others as they
 * were. With --for-cow, what a copy-on-write dump can take: neither
 * MADV_DONTFORK nor MADV_WIPEONFORK (its fork would not have the memory
 * as it is).
 * Prints one line per check and "result OK"; exits 1 with a FAIL line. */
#include "common.h"
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define PAGES 4
#define LEN (PAGES * 4096UL)

static const struct {
	const char *name;  /* as the line says it */
	const char *flag;  /* its VmFlags mnemonic */
	int advice;        /* madvise advice, or -1 for mlock */
} states[] = {
	{ "mlock", "lo", -1 },
	{ "MADV_DONTFORK", "dc", MADV_DONTFORK },
	{ "MADV_WIPEONFORK", "wf", MADV_WIPEONFORK },
	{ "MADV_DONTDUMP", "dd", MADV_DONTDUMP },
	{ "MADV_HUGEPAGE", "hg", MADV_HUGEPAGE },
	{ "MADV_NOHUGEPAGE", "nh", MADV_NOHUGEPAGE },
	{ "MADV_SEQUENTIAL", "sr", MADV_SEQUENTIAL },
	{ "MADV_RANDOM", "rr", MADV_RANDOM },
};
#define N (int)(sizeof(states) / sizeof(states[0]))

static unsigned char *region[N];
static int set[N]; /* 0: not set (--for-cow), or the kernel refused this hint (no THP) */

static void fill(int i)
{
	for (unsigned long k = 0; k < LEN; k++)
		region[i][k] = (unsigned char)(i * 37 + k * 11);
}

static int zero(int i)
{
	for (unsigned long k = 0; k < LEN; k++)
		if (region[i][k])
			return 0;
	return 1;
}

static int intact(int i)
{
	for (unsigned long k = 0; k < LEN; k++)
		if (region[i][k] != (unsigned char)(i * 37 + k * 11))
			return 0;
	return 1;
}


/* The VmFlags line of the mapping that starts at addr, or NULL. */
static const char *vmflags(const void *addr, char *line, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	int here = 0;

	if (!f)
		FAIL("open /proc/self/smaps: %s", strerror(errno));
	while (fgets(line, (int)size, f)) {
		unsigned long start, end;

		/* A mapping's first line; its fields' lines start with a name. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			here = start == (unsigned long)addr;
			continue;
		}
		if (here && !strncmp(line, "VmFlags:", 8)) {
			fclose(f);
			return line + 8;
		}
	}
	fclose(f);
	return NULL;
}

static int has_flag(const char *flags, const char *flag)
{
	for (const char *p = flags; (p = strstr(p, flag)); p += 2)
		if ((p == flags || p[-1] == ' ') && (p[2] == ' ' || p[2] == '\n' || !p[2]))
			return 1;
	return 0;
}

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		FAIL("open /proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int for_cow = argc > 1 && !strcmp(argv[1], "--for-cow");

	for (int i = 0; i < N; i++) {
		/* Its own mapping, away from the others' (no merging). */
		region[i] = mmap(NULL, LEN + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region[i] == MAP_FAILED)
			FAIL("mmap: %s", strerror(errno));
		if (munmap(region[i] + LEN, 4096))
			FAIL("munmap guard: %s", strerror(errno));
		fill(i);
		if (for_cow && (states[i].advice == MADV_DONTFORK || states[i].advice == MADV_WIPEONFORK))
			continue;
		int r = states[i].advice < 0 ? mlock(region[i], LEN) : madvise(region[i], LEN, states[i].advice);
		set[i] = r == 0;
		if (r && !(errno == EINVAL && (states[i].advice == MADV_HUGEPAGE || states[i].advice == MADV_NOHUGEPAGE)))
			FAIL("%s: %s", states[i].name, strerror(errno));
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		FAIL("PR_SET_THP_DISABLE: %s", strerror(errno));
	printf("ready\n");
	wait_point(1);

	for (int i = 0; i < N; i++) {
		char line[1024];
		const char *flags = vmflags(region[i], line, sizeof(line));

		if (!flags)
			FAIL("%s: no mapping at %p", states[i].name, (void *)region[i]);
		if (!intact(i))
			FAIL("%s: its bytes changed", states[i].name);
		for (int k = 0; k < N; k++) {
			int want = k == i && set[i];
			if (has_flag(flags, states[k].flag) != want)
				FAIL("%s region: VmFlags%s %s %s", states[i].name, flags, want ? "lacks" : "has", states[k].flag);
		}
		printf("%s: bytes intact, VmFlags %s\n", states[i].name, set[i] ? "has exactly it" : "none of them");
	}
	long locked = status_kb("VmLck");
	if (locked != (long)(LEN / 1024))
		FAIL("VmLck %ld kB, not %lu", locked, LEN / 1024);
	printf("VmLck %ld kB\n", locked);
	if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1)
		FAIL("THP not disabled");
	printf("THP disabled\n");

	pid_t child = fork();
	if (child < 0)
		FAIL("fork: %s", strerror(errno));
	if (child == 0) {
		char line[1024];

		for (int i = 0; i < N; i++) {
			int there = vmflags(region[i], line, sizeof(line)) != NULL;
			int gone = set[i] && states[i].advice == MADV_DONTFORK;
			if (gone ? there : !there)
				_exit(10 + i);
			if (gone)
				continue;
			if (set[i] && states[i].advice == MADV_WIPEONFORK ? !zero(i) : !intact(i))
				_exit(20 + i);
		}
		_exit(0);
	}
	int status;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		FAIL("the fork's child found the memory wrong (status %#x)", status);
	printf("a fork has no DONTFORK memory, zeroed WIPEONFORK memory, the rest as it was\n");
	printf("result OK\n");
	return 0;
}
