/* files [--wait-at K,...] DIR STEPS [SLEEP_US]: files open at known offsets. Creates
 * DIR/input.dat (64 KiB pattern) and reads it read-only from offset 4096,
 * 16 bytes a step, checking each read; writes "line N" to DIR/output.txt
 * and "aN" to DIR/append.log (O_APPEND); keeps DIR and /dev/null open.
 * At the end re-reads both written files and checks every byte. Prints
 * "fd NAME N" for each, "ready", "step N" every 100 steps, "result HASH". */
#include "common.h"
#include <fcntl.h>
#include <string.h>

#define INPUT_LEN 65536
#define START 4096

static uint8_t pattern(long k) { return (uint8_t)(k * 7 + 3); }

static void check_file(const char *path, const char *fmt, long steps, uint64_t *sum)
{
	FILE *f = fopen(path, "r");
	if (!f)
		FAIL("reopen %s", path);
	char line[64], want[64];
	for (long s = 0; s < steps; s++) {
		snprintf(want, sizeof(want), fmt, s);
		if (!fgets(line, sizeof(line), f) || strcmp(line, want))
			FAIL("%s: line %ld is not \"%s\"", path, s, want);
		*sum = mix64(*sum, (uint64_t)strlen(line) + s);
	}
	if (fgets(line, sizeof(line), f))
		FAIL("%s: extra data", path);
	fclose(f);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 3)
		FAIL("usage: files DIR STEPS [SLEEP_US]");
	const char *dir = argv[1];
	long steps = arg_or(argc, argv, 2, 1000), us = arg_or(argc, argv, 3, 1000);
	char in_path[4096], out_path[4096], app_path[4096];
	snprintf(in_path, sizeof(in_path), "%s/input.dat", dir);
	snprintf(out_path, sizeof(out_path), "%s/output.txt", dir);
	snprintf(app_path, sizeof(app_path), "%s/append.log", dir);
	static uint8_t buf[INPUT_LEN];
	for (long k = 0; k < INPUT_LEN; k++)
		buf[k] = pattern(k);
	int w = open(in_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (w < 0 || write(w, buf, INPUT_LEN) != INPUT_LEN)
		FAIL("creating %s", in_path);
	close(w);
	int in = open(in_path, O_RDONLY);
	int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int app = open(app_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in < 0 || out < 0 || app < 0 || dfd < 0 || null < 0)
		FAIL("open");
	if (lseek(in, START, SEEK_SET) != START)
		FAIL("lseek");
	printf("fd input %d\nfd output %d\nfd append %d\nfd dir %d\nfd null %d\n", in, out, app, dfd, null);
	printf("ready\n");
	uint64_t sum = 0;
	long pos = START;
	for (long s = 0; s < steps; s++) {
		wait_point(s);
		uint8_t chunk[16];
		if (pos + 16 > INPUT_LEN) {
			pos = START;
			lseek(in, START, SEEK_SET);
		}
		if (read(in, chunk, 16) != 16)
			FAIL("step %ld: short read", s);
		for (int k = 0; k < 16; k++)
			if (chunk[k] != pattern(pos + k))
				FAIL("step %ld: input byte at %ld is %d", s, pos + k, chunk[k]);
		pos += 16;
		sum = mix64(sum, chunk[s % 16]);
		char line[64];
		int n = snprintf(line, sizeof(line), "line %ld\n", s);
		if (write(out, line, n) != n)
			FAIL("write output");
		n = snprintf(line, sizeof(line), "a%ld\n", s);
		if (write(app, line, n) != n)
			FAIL("write append");
		if (write(null, line, n) != n)
			FAIL("write /dev/null");
		if (s % 100 == 0)
			printf("step %ld\n", s);
		sleep_us(us);
	}
	check_file(out_path, "line %ld\n", steps, &sum);
	check_file(app_path, "a%ld\n", steps, &sum);
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
