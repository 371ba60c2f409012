/* Files deleted while open: DIR/data (20000 bytes of a pattern) open
 * read-write at fd 3 at offset 1234, shared with fd 5 (dup), and
 * DIR/log open write-only with O_APPEND at fd 4 holding "first\n", both
 * unlinked. Waits at step 1 (dump point); then checks the contents, the
 * shared offset, the access modes and flags, that the files are still
 * unlinked, that appending and writing work, and exits non-zero on a
 * mismatch. */
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

static char pattern(long i)
{
	return (char)('a' + (i * 7) % 26);
}

int main(int argc, char **argv)
{
	char path[4096], logp[4096], buf[20000];
	struct stat st;
	long i;

	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: deleted [--wait-at 1] DIR");
	snprintf(path, sizeof path, "%s/data", argv[1]);
	snprintf(logp, sizeof logp, "%s/log", argv[1]);
	for (i = 0; i < (long)sizeof buf; i++)
		buf[i] = pattern(i);
	int d = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	int l = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (d != 3 || l != 4 || write(d, buf, sizeof buf) != (ssize_t)sizeof buf || write(l, "first\n", 6) != 6)
		FAIL("setup");
	if (lseek(d, 1234, SEEK_SET) != 1234 || dup2(3, 5) != 5 || unlink(path) || unlink(logp))
		FAIL("setup");
	printf("ready\n");
	wait_point(1);

	check(fstat(3, &st) == 0 && st.st_nlink == 0 && st.st_size == 20000 && (st.st_mode & 07777) == 0640, "data unlinked, size, mode");
	check(lseek(5, 0, SEEK_CUR) == 1234, "offset");
	check((fcntl(3, F_GETFL) & O_ACCMODE) == O_RDWR, "data read-write");
	char got[100];
	check(read(3, got, sizeof got) == (ssize_t)sizeof got && lseek(5, 0, SEEK_CUR) == 1334, "read moves the shared offset");
	int same = 1;
	for (i = 0; i < (long)sizeof got; i++)
		same &= got[i] == pattern(1234 + i);
	check(same, "contents");
	check(pread(5, got, 1, 19999) == 1 && got[0] == pattern(19999), "last byte");
	check(pwrite(3, "X", 1, 0) == 1 && pread(5, got, 1, 0) == 1 && got[0] == 'X', "writable, one file");
	check((fcntl(4, F_GETFL) & (O_ACCMODE | O_APPEND)) == (O_WRONLY | O_APPEND), "log write-only, append");
	check(write(4, "second\n", 7) == 7 && fstat(4, &st) == 0 && st.st_size == 13 && st.st_nlink == 0, "log appends");
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}
