/* Named FIFOs beyond fds 0-2, opened by path:
 *   fifo DIR
 * makes DIR/a.fifo and DIR/b.fifo; fd 3: a.fifo O_RDONLY|O_NONBLOCK,
 * fd 4: a.fifo O_WRONLY, fd 5: b.fifo O_RDWR; writes "queued-a" into
 * a.fifo and "bbb" into b.fifo, unread. Waits at step 1 (dump point).
 * Then checks each fd's access mode and O_NONBLOCK, that it is the FIFO
 * at its path, the queued bytes, a new write carried from fd 4 to fd 3,
 * and end of file at fd 3 once fd 4 is closed. Exits non-zero if a check
 * fails. */
#include "common.h"

#include <fcntl.h>
#include <sys/stat.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", what, ok ? "ok" : "WRONG");
	if (!ok)
		failed = 1;
}

static int at(const char *path, int flags, int want)
{
	int fd = open(path, flags);
	if (fd != want) {
		printf("FAIL: open %s at fd %d: %s\n", path, want, strerror(errno));
		exit(1);
	}
	return fd;
}

static int same(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev && S_ISFIFO(a.st_mode);
}

static int reads(int fd, const char *want)
{
	char buf[64];
	size_t n = strlen(want);
	ssize_t k = read(fd, buf, sizeof(buf));
	return k == (ssize_t)n && !memcmp(buf, want, n);
}

int main(int argc, char **argv)
{
	char a[4096], b[4096];

	setup_common(&argc, &argv);
	if (argc != 2) {
		printf("usage: fifo [--wait-at 1] DIR\n");
		return 2;
	}
	snprintf(a, sizeof(a), "%s/a.fifo", argv[1]);
	snprintf(b, sizeof(b), "%s/b.fifo", argv[1]);
	unlink(a);
	unlink(b);
	if (mkfifo(a, 0600) || mkfifo(b, 0600)) {
		printf("FAIL: mkfifo: %s\n", strerror(errno));
		return 1;
	}
	at(a, O_RDONLY | O_NONBLOCK, 3);
	at(a, O_WRONLY, 4);
	at(b, O_RDWR, 5);
	if (write(4, "queued-a", 8) != 8 || write(5, "bbb", 3) != 3) {
		printf("FAIL: write: %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	wait_point(1);
	check((fcntl(3, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK), "fd 3 read end nonblocking");
	check((fcntl(4, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_WRONLY, "fd 4 write end blocking");
	check((fcntl(5, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR, "fd 5 read-write blocking");
	check(same(3, a) && same(4, a) && same(5, b), "the FIFOs at their paths");
	check(reads(3, "queued-a"), "a.fifo queued bytes");
	check(reads(5, "bbb"), "b.fifo queued bytes");
	check(write(4, "more", 4) == 4 && reads(3, "more"), "fd 4 to fd 3");
	close(4);
	check(read(3, a, 1) == 0, "end of file without writers");
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}
