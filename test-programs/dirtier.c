/* dirtier [--wait-at 1] MIB RATE: keeps writing to MIB MiB of memory at
 * RATE MiB/s (0: as fast as it can) from a second thread, for migration
 * tests and the migration benchmark. Every 8-byte word of page i holds
 * mix(i, gen[i]), gen[i] being how often page i was written (a separate
 * array, written after the page): the state a migration must carry over
 * exactly, and which the program checks itself.
 *
 * Prints "ready", then wait point 1 (main thread blocked on stdin
 * while the writer runs on: the test migrates it there). On the go line
 * the writer is stopped and joined (it finishes the page it is writing),
 * every page is checked against gen[] and the generations against the
 * count of writes, and it prints "result ok" with the deterministic
 * counts, or FAIL lines and exits 1. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "common.h"

#define PAGE 4096
#define WORDS (PAGE / 8)

static uint64_t *mem;
static uint32_t *gen;
static long pages, rate_mib;
static atomic_int stop;
static volatile uint64_t writes;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static void write_page(long i)
{
	uint32_t g = gen[i] + 1;
	uint64_t v = mix64(i, g), *p = mem + i * WORDS;
	for (int w = 0; w < WORDS; w++)
		p[w] = v;
	gen[i] = g;
	writes++;
}

static void *writer(void *arg)
{
	(void)arg;
	uint64_t x = 0x9e3779b97f4a7c15u, start = now_ns();
	/* Pages per 1 ms tick at the asked rate. */
	long per_ms = rate_mib * 256 / 1000, done = 0;
	while (!atomic_load(&stop)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		write_page((long)(x % (uint64_t)pages));
		if (rate_mib <= 0)
			continue;
		done++;
		/* Ahead of schedule: sleep until the next millisecond is due. */
		if (per_ms == 0 || done % per_ms == 0) {
			uint64_t due = start + (uint64_t)done * 1000000000u / ((uint64_t)rate_mib * 256);
			uint64_t t = now_ns();
			if (due > t)
				sleep_us((long)((due - t) / 1000));
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	pages = arg_or(argc, argv, 1, 64) * 256;
	rate_mib = arg_or(argc, argv, 2, 10);
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gen = mmap(NULL, pages * sizeof *gen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || gen == MAP_FAILED) {
		printf("FAIL: mmap: %s\n", strerror(errno));
		return 1;
	}
	for (long i = 0; i < pages; i++)
		write_page(i);
	pthread_t t;
	if (pthread_create(&t, NULL, writer, NULL)) {
		printf("FAIL: pthread_create\n");
		return 1;
	}
	printf("ready\n");
	wait_point(1);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	long bad = 0;
	for (long i = 0; i < pages; i++) {
		uint64_t v = mix64(i, gen[i]), *p = mem + i * WORDS;
		for (int w = 0; w < WORDS; w++) {
			if (p[w] != v) {
				if (bad++ < 5)
					printf("FAIL: page %ld word %d holds %#lx, generation %u wants %#lx\n", i, w, (unsigned long)p[w], gen[i], (unsigned long)v);
				break;
			}
		}
	}
	uint64_t sum = 0;
	for (long i = 0; i < pages; i++)
		sum += gen[i];
	/* Every write counted once: the generations add up to the writes. */
	if (sum != writes) {
		printf("FAIL: generations add up to %lu, %lu writes counted\n", (unsigned long)sum, (unsigned long)writes);
		bad++;
	}
	if (bad) {
		printf("FAIL: %ld pages differ from what was written\n", bad);
		return 1;
	}
	fprintf(stderr, "dirtier: %lu writes checked\n", (unsigned long)writes);
	printf("result ok pages=%ld\n", pages);
	return 0;
}
