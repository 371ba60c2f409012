/* exec-errno FILE [ARGS...]: execve FILE and, if that fails, print the errno's
 * symbolic name ("ENOEXEC") on stdout and exit 1. Lets guest scenarios assert
 * exactly which errno the loader returned. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *errno_name(int e)
{
	switch (e) {
	case ENOEXEC: return "ENOEXEC";
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESTALE: return "ESTALE";
	case ENOMEM: return "ENOMEM";
	case E2BIG: return "E2BIG";
	case EIO: return "EIO";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSYS: return "ENOSYS";
	case ETXTBSY: return "ETXTBSY";
	case EAGAIN: return "EAGAIN";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	extern char **environ;

	if (argc < 2) {
		fprintf(stderr, "usage: exec-errno FILE [ARGS...]\n");
		return 2;
	}
	execve(argv[1], argv + 1, environ);
	printf("%s\n", errno_name(errno));
	fprintf(stderr, "exec-errno: %s: %s\n", argv[1], strerror(errno));
	return 1;
}
