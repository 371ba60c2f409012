/* fdshare [--wait-at 1] DIR: fds that share open file descriptions, and
 * pipes. Sets up, prints "ready", waits at step 1, then checks that each
 * still behaves as it did (after a restore, too) and prints what it saw:
 *  - DIR/shared.txt open O_RDWR|O_APPEND at fds 3 (open), 4 (dup), 20
 *    (dup2) and 30 (F_DUPFD_CLOEXEC): one offset, one set of flags;
 *  - pipe A, both ends in the process (fds 5, 6), 128 KiB, read end
 *    O_NONBLOCK, 12 bytes queued: still queued, still one pipe;
 *  - pipe B, read end only (fd 7; its writer closed) with "tail-B"
 *    queued: those bytes, then end of file;
 *  - pipe C, write end only (fd 8; its reader closed): EPIPE;
 *  - fd 40, a dup of stdout (`exec 40>&1`): writes reach stdout.
 * Exits 1 with "FAIL: ..." if anything is off. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

static void must(int ok, const char *what)
{
	if (!ok)
		FAIL("%s (errno %d, %s)", what, errno, strerror(errno));
}

static void at(int fd, int want)
{
	if (fd != want)
		FAIL("got fd %d, wanted %d", fd, want);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: fdshare DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/shared.txt", argv[1]);

	/* fds 3, 4 (and 20, 30 below): one description of shared.txt. */
	at(open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644), 3);
	must(write(3, "abc", 3) == 3, "write abc");
	at(dup(3), 4);
	/* Pipe A: 5 read (non-blocking), 6 write; 128 KiB; 12 bytes queued. */
	int a[2], b[2], c[2];
	must(pipe(a) == 0, "pipe A");
	at(a[0], 5);
	must(fcntl(a[0], F_SETPIPE_SZ, 128 * 1024) >= 0, "F_SETPIPE_SZ");
	must(fcntl(a[0], F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	must(write(a[1], "queued-in-A\n", 12) == 12, "write A");
	/* Pipe B: read end 7 only. */
	must(pipe(b) == 0, "pipe B");
	at(b[0], 7);
	must(write(b[1], "tail-B", 6) == 6, "write B");
	close(b[1]);
	/* Pipe C: write end 8 only (pipe() gives 8, 9 now that B's 8 is free). */
	must(pipe(c) == 0, "pipe C");
	close(c[0]);
	at(dup2(c[1], 8), 8);
	close(c[1]);
	at(dup2(3, 20), 20);
	at(fcntl(3, F_DUPFD_CLOEXEC, 30), 30);
	at(dup2(1, 40), 40);
	printf("ready\n");

	wait_point(1);

	/* One offset and O_APPEND for 3, 4, 20, 30. */
	must(write(4, "def", 3) == 3, "write via 4");
	must(write(20, "ghi", 3) == 3, "write via 20");
	if (lseek(3, 0, SEEK_CUR) != 9 || lseek(30, 0, SEEK_CUR) != 9)
		FAIL("offsets not shared: %ld %ld", (long)lseek(3, 0, SEEK_CUR), (long)lseek(30, 0, SEEK_CUR));
	must(lseek(30, 1, SEEK_SET) == 1, "seek via 30");
	if (lseek(4, 0, SEEK_CUR) != 1)
		FAIL("seek via 30 not seen by 4");
	char buf[64] = { 0 };
	must(pread(3, buf, sizeof(buf), 0) == 9, "pread");
	if (memcmp(buf, "abcdefghi", 9))
		FAIL("file holds %.9s", buf);
	int fl = fcntl(20, F_GETFL);
	if ((fl & O_ACCMODE) != O_RDWR || !(fl & O_APPEND))
		FAIL("flags of fd 20: %o", fl);
	if (!(fcntl(30, F_GETFD) & FD_CLOEXEC) || (fcntl(4, F_GETFD) & FD_CLOEXEC))
		FAIL("close-on-exec flags");
	printf("shared file: abcdefghi, offsets shared\n");

	/* Pipe A: size, flags, bytes, still one pipe. */
	if (fcntl(5, F_GETPIPE_SZ) != 128 * 1024)
		FAIL("pipe A size %d", fcntl(5, F_GETPIPE_SZ));
	if (!(fcntl(5, F_GETFL) & O_NONBLOCK) || (fcntl(6, F_GETFL) & O_NONBLOCK))
		FAIL("pipe A flags %o %o", fcntl(5, F_GETFL), fcntl(6, F_GETFL));
	memset(buf, 0, sizeof(buf));
	must(read(5, buf, sizeof(buf)) == 12, "read A");
	if (read(5, buf + 12, 1) != -1 || errno != EAGAIN)
		FAIL("pipe A: more than its bytes, or blocking");
	must(write(6, "x", 1) == 1 && read(5, buf + 12, 1) == 1 && buf[12] == 'x', "pipe A round trip");
	printf("pipe A: %.11s, then x\n", buf);

	/* Pipe B: bytes, then end of file. */
	memset(buf, 0, sizeof(buf));
	must(read(7, buf, sizeof(buf)) == 6, "read B");
	if (read(7, buf + 6, 1) != 0)
		FAIL("pipe B: no end of file");
	printf("pipe B: %s, then end of file\n", buf);

	/* Pipe C: EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (write(8, "y", 1) != -1 || errno != EPIPE)
		FAIL("pipe C: no EPIPE");
	printf("pipe C: EPIPE\n");

	dprintf(40, "fd 40 reaches stdout\n");
	printf("result ok\n");
	return 0;
}
