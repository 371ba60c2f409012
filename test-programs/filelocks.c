/* filelocks [--wait-at 1] FILE: file locks across a checkpoint. Creates
 * FILE (8 KiB) and takes, each through its own open of it: POSIX record
 * locks (write on bytes 0-99, read from 200 to the end of the file), an
 * OFD write lock on bytes 100-149, and an exclusive flock through an fd
 * that a dup shares. After wait point 1 (dumped there) a forked child,
 * another process, checks each lock from its own open of FILE: F_GETLK
 * sees the POSIX ones owned by this process, F_OFD_GETLK sees the OFD
 * one (pid -1), flock(LOCK_EX | LOCK_NB) fails with EWOULDBLOCK, and an
 * unlocked range (150-199) is free. Prints one line per check and
 * "result OK"; exits 1 with a FAIL line if a lock is missing. */
#include "common.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>

static void lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, cmd, &fl))
		FAIL("taking %s lock %lld+%lld: %s", cmd == F_OFD_SETLK ? "OFD" : "POSIX", (long long)start, (long long)len, strerror(errno));
}

/* In the child: who holds a write lock's conflict on [start, start+len)?
 * Returns the l_pid the kernel reports, or 0 if nothing conflicts. */
static int holder(int fd, int cmd, off_t start, off_t len, short *type)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, cmd, &fl))
		FAIL("child: querying %lld+%lld: %s", (long long)start, (long long)len, strerror(errno));
	*type = fl.l_type;
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

static int check_from_child(const char *path)
{
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0)
		FAIL("fork: %s", strerror(errno));
	if (child == 0) {
		int fd = open(path, O_RDWR);
		short type;
		int bad = 0;
		if (fd < 0) {
			printf("FAIL: child: open %s: %s\n", path, strerror(errno));
			_exit(1);
		}
		int p = holder(fd, F_GETLK, 0, 100, &type);
		printf("posix write 0-99: %s\n", p == parent && type == F_WRLCK ? "held" : "MISSING");
		bad |= !(p == parent && type == F_WRLCK);
		p = holder(fd, F_GETLK, 200, 0, &type);
		printf("posix read 200-EOF: %s\n", p == parent && type == F_RDLCK ? "held" : "MISSING");
		bad |= !(p == parent && type == F_RDLCK);
		p = holder(fd, F_OFD_GETLK, 100, 50, &type);
		printf("ofd write 100-149: %s\n", p == -1 && type == F_WRLCK ? "held" : "MISSING");
		bad |= !(p == -1 && type == F_WRLCK);
		p = holder(fd, F_GETLK, 150, 50, &type);
		printf("150-199: %s\n", p == 0 ? "free" : "LOCKED");
		bad |= p != 0;
		int rc = flock(fd, LOCK_EX | LOCK_NB);
		printf("flock exclusive: %s\n", rc < 0 && errno == EWOULDBLOCK ? "held" : "MISSING");
		bad |= !(rc < 0 && errno == EWOULDBLOCK);
		fflush(stdout);
		_exit(bad);
	}
	int status;
	if (waitpid(child, &status, 0) != child)
		FAIL("waitpid: %s", strerror(errno));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: filelocks [--wait-at 1] FILE");
	const char *path = argv[1];
	char page[8192] = { 0 };
	int posix = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (posix < 0 || write(posix, page, sizeof(page)) != (ssize_t)sizeof(page))
		FAIL("creating %s: %s", path, strerror(errno));
	int ofd = open(path, O_RDWR);
	int fl = open(path, O_RDONLY);
	if (ofd < 0 || fl < 0)
		FAIL("opening %s again: %s", path, strerror(errno));
	int fl_dup = dup(fl);
	if (fl_dup < 0)
		FAIL("dup: %s", strerror(errno));
	lock(posix, F_SETLK, F_WRLCK, 0, 100);
	lock(posix, F_SETLK, F_RDLCK, 200, 0);
	lock(ofd, F_OFD_SETLK, F_WRLCK, 100, 50);
	if (flock(fl, LOCK_EX | LOCK_NB))
		FAIL("flock: %s", strerror(errno));
	printf("ready\n");
	wait_point(1);
	if (!check_from_child(path))
		FAIL("a lock is missing after wait point 1");
	/* The locks are this process's own: it can let them go. */
	lock(posix, F_SETLK, F_UNLCK, 0, 0);
	lock(ofd, F_OFD_SETLK, F_UNLCK, 0, 0);
	if (flock(fl_dup, LOCK_UN))
		FAIL("flock unlock: %s", strerror(errno));
	printf("result OK\n");
	return 0;
}
