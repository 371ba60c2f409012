/* exec-errno FILE [ARGS...]: execve FILE and, if that fails, print the errno's
 * symbolic name ("ENOEXEC") on stdout and exit 1. Lets guest scenarios assert
 * exactly which errno the loader returned (the names the refusal table
 * uses, `ckpt-restore --refusal-table`). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	extern char **environ;

	if (argc < 2) {
		fprintf(stderr, "usage: exec-errno FILE [ARGS...]\n");
		return 2;
	}
	execve(argv[1], argv + 1, environ);
	int e = errno;
	const char *name = strerrorname_np(e);
	if (name)
		printf("%s\n", name);
	else
		printf("errno-%d\n", e);
	fprintf(stderr, "exec-errno: %s: %s\n", argv[1], strerror(e));
	return 1;
}
