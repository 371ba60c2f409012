/* exec-latency RUNS FILE: executes FILE (a bench-target ELF or a restorable
 * image of one) RUNS times and prints the median and minimum time from just
 * before execve until the program's own code runs (it reports
 * CLOCK_MONOTONIC after reading the byte this program sends it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[1]) : 0;
	long long *t0, lat[1000];
	char buf[64];

	if (runs <= 0 || runs > 1000) {
		fprintf(stderr, "usage: exec-latency RUNS FILE\n");
		return 2;
	}
	t0 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < runs; i++) {
		int in[2], out[2], status;
		pid_t pid;
		ssize_t n;

		if (pipe(in) || pipe(out))
			return 2;
		pid = fork();
		if (pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			close(in[0]); close(in[1]); close(out[0]); close(out[1]);
			*t0 = now_ns();
			execl(argv[2], argv[2], (char *)NULL);
			_exit(127);
		}
		close(in[0]);
		close(out[1]);
		if (write(in[1], "x", 1) != 1)
			return 2;
		n = read(out[0], buf, sizeof(buf) - 1);
		waitpid(pid, &status, 0);
		close(in[1]);
		close(out[0]);
		if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "exec-latency: %s: run %d failed (status %#x)\n", argv[2], i, status);
			return 1;
		}
		buf[n] = 0;
		lat[i] = atoll(buf) - *t0;
	}
	qsort(lat, runs, sizeof(lat[0]), cmp);
	printf("%s: median %lld us, min %lld us over %d runs\n", argv[2], lat[runs / 2] / 1000, lat[0] / 1000, runs);
	return 0;
}
