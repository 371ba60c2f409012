/* bench-target [prepare]: the program the restore benchmark times. Its
 * memory is a MIB-MiB array in .bss (-DMIB=...). With "prepare" it writes
 * every page of the array (so a dump stores them all), prints "ready" on
 * stderr and waits; otherwise it waits at once. Waiting is a read of one byte from
 * stdin; after it, the program prints CLOCK_MONOTONIC in nanoseconds and
 * exits. exec-latency takes the time just before execve, writes the byte,
 * and reads the time back: the difference is the time until the program's
 * own code ran again, for an ELF as for a restored image. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MIB
#define MIB 1
#endif

/* volatile: the writes must happen even though nothing reads them back. */
static volatile char memory[(size_t)MIB << 20];

int main(int argc, char **argv)
{
	char byte;
	struct timespec ts;

	if (argc > 1 && !strcmp(argv[1], "prepare")) {
		for (size_t i = 0; i < sizeof(memory); i += 4096)
			memory[i] = (char)(i >> 12 | 1);
		fprintf(stderr, "ready\n"); /* stdout stays the timer's pipe */
	}
	if (read(0, &byte, 1) != 1)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fflush(stdout);
	return 0;
}
