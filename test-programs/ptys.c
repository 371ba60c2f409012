/* Terminals beyond fds 0-2:
 *   ptys [--wait-at 1] pairs
 * fd 3: a pty master (posix_openpt), fd 4: its slave (O_RDWR), fd 5 the
 * slave opened again (O_RDWR|O_NONBLOCK, its own description), the
 * slave in raw mode with ECHO, 9600 baud, VMIN 3, a 33x101 window of 7x9
 * pixels, exclusive (TIOCEXCL); bytes sent both ways and read (nothing
 * queued at the dump). fd 6: a second master, packet mode, its slave
 * locked again, never opened; fd 7: a third whose slave was opened and
 * closed (reads give EIO). Waits at step 1 (dump point). Then checks that
 * termios, window size, flags and modes are as they were, that fds 4 and
 * 5 are the slave of fd 3, and that bytes written at the master come out
 * of the slave and are echoed back, and the slave's answer reaches the
 * master.
 *   ptys [--wait-at 1] tty
 * with a terminal on fds 0-2 that is its controlling terminal: fd 3 is
 * /dev/tty, fd 4 the terminal of fd 0 opened again by its name
 * (O_WRONLY|O_NONBLOCK). After step 1 checks each is a terminal, the
 * same one as fd 0 (fd 3's window size is fd 0's), fd 4 a description of
 * its own with its flags, and writes a line through each.
 *   ptys [--wait-at 1] queued|outside
 * what a dump refuses (see refused()).
 * Exits non-zero if a check fails. */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", what, ok ? "ok" : "WRONG");
	if (!ok)
		failed = 1;
}

static void must(int ok, const char *what)
{
	if (!ok) {
		printf("FAIL: %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

static int at(int fd, int want)
{
	if (fd != want) {
		printf("FAIL: fd %d instead of %d: %s\n", fd, want, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Reads exactly n bytes (blocking fds) and compares them. */
static int reads(int fd, const char *want)
{
	char buf[64];
	size_t n = strlen(want), got = 0;

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return 0;
		got += (size_t)k;
	}
	return !memcmp(buf, want, n);
}

static int nothing_queued(int fd)
{
	int n = -1;
	return ioctl(fd, FIONREAD, &n) == 0 && n == 0;
}

static int same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
	       !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) && cfgetispeed(a) == cfgetispeed(b) && cfgetospeed(a) == cfgetospeed(b);
}

static int is_slave_of(int slave, int master)
{
	struct stat st;
	unsigned int n;
	return fstat(slave, &st) == 0 && ioctl(master, TIOCGPTN, &n) == 0 && S_ISCHR(st.st_mode) &&
	       minor(st.st_rdev) + 256 * (major(st.st_rdev) - 136) == n;
}

static int pairs(void)
{
	struct termios t, want;
	struct winsize ws = { 33, 101, 7, 9 }, got;
	int one = 1, v, fd;

	at(posix_openpt(O_RDWR | O_NOCTTY), 3);
	must(grantpt(3) == 0 && unlockpt(3) == 0, "unlockpt");
	at(open(ptsname(3), O_RDWR | O_NOCTTY), 4);
	at(open(ptsname(3), O_RDWR | O_NOCTTY | O_NONBLOCK), 5);
	must(tcgetattr(4, &t) == 0, "tcgetattr");
	cfmakeraw(&t);
	t.c_lflag |= ECHO;
	t.c_cc[VMIN] = 3;
	t.c_cc[VTIME] = 0;
	cfsetispeed(&t, B9600);
	cfsetospeed(&t, B9600);
	must(tcsetattr(4, TCSANOW, &t) == 0, "tcsetattr");
	must(ioctl(3, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ");
	must(ioctl(4, TIOCEXCL) == 0, "TIOCEXCL");
	must(tcgetattr(4, &want) == 0, "tcgetattr");
	/* Both ways once before the dump, everything read. */
	must(write(3, "hey", 3) == 3, "write master");
	check(reads(4, "hey") && reads(3, "hey"), "before: master to slave, echoed");
	must(write(4, "yo", 2) == 2, "write slave");
	check(reads(3, "yo"), "before: slave to master");
	/* A second pair: packet mode, locked, its slave never opened. */
	at(posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK), 6);
	must(ioctl(6, TIOCPKT, &one) == 0, "TIOCPKT");
	/* A third: its slave opened and closed. */
	at(posix_openpt(O_RDWR | O_NOCTTY), 7);
	must(unlockpt(7) == 0, "unlockpt");
	fd = open(ptsname(7), O_RDWR | O_NOCTTY);
	must(fd >= 0 && close(fd) == 0, "open the third slave");
	printf("ready\n");
	wait_point(1);

	check(is_slave_of(4, 3) && is_slave_of(5, 3), "fds 4 and 5 the slave of fd 3");
	check(tcgetattr(4, &t) == 0 && same_termios(&t, &want), "termios kept");
	check(tcgetattr(5, &t) == 0 && same_termios(&t, &want) && (t.c_lflag & (ICANON | ECHO)) == ECHO, "termios raw with echo");
	check(ioctl(3, TIOCGWINSZ, &got) == 0 && !memcmp(&got, &ws, sizeof(ws)), "window size kept");
	check((fcntl(3, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR, "fd 3 blocking read-write");
	check((fcntl(4, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR, "fd 4 blocking");
	check((fcntl(5, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDWR | O_NONBLOCK), "fd 5 nonblocking");
	check(ioctl(4, TIOCGEXCL, &v) == 0 && v == 1, "slave exclusive");
	check(nothing_queued(3) && nothing_queued(4), "nothing queued");
	must(write(3, "ping", 4) == 4, "write master");
	check(reads(4, "ping"), "master to slave");
	check(reads(3, "ping"), "echoed back to the master");
	must(write(4, "pong", 4) == 4, "write slave");
	check(reads(3, "pong"), "slave to master");
	/* VMIN 3: two bytes wait, the third completes the read. */
	must(write(3, "ab", 2) == 2 && reads(3, "ab"), "write two");
	{
		struct pollfd p = { 4, POLLIN, 0 };
		check(poll(&p, 1, 0) == 0, "VMIN kept (two bytes are not enough)");
	}
	must(write(3, "c", 1) == 1 && reads(3, "c"), "write one");
	check(reads(4, "abc"), "the third byte completes the read");
	check(ioctl(6, TIOCGPKT, &v) == 0 && v == 1, "second pair in packet mode");
	check(ioctl(6, TIOCGPTLCK, &v) == 0 && v == 1, "second pair's slave locked");
	check((fcntl(6, F_GETFL) & O_NONBLOCK) != 0, "fd 6 nonblocking");
	{
		struct pollfd p = { 7, POLLIN, 0 };
		char c;
		check(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && read(7, &c, 1) < 0 && errno == EIO, "third pair's slave closed");
	}
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}

static int tty(void)
{
	struct stat a, b, c;
	struct winsize w0, w3;
	char name[256];

	must(ttyname_r(0, name, sizeof(name)) == 0, "ttyname");
	at(open("/dev/tty", O_RDWR), 3);
	at(open(name, O_WRONLY | O_NONBLOCK | O_NOCTTY), 4);
	printf("ready\n");
	wait_point(1);
	check(isatty(3) && isatty(4), "fds 3 and 4 terminals");
	check(fstat(0, &a) == 0 && fstat(4, &b) == 0 && a.st_rdev == b.st_rdev, "fd 4 the terminal of fd 0");
	check(fstat(3, &c) == 0 && major(c.st_rdev) == 5 && minor(c.st_rdev) == 0, "fd 3 /dev/tty");
	check(ioctl(0, TIOCGWINSZ, &w0) == 0 && ioctl(3, TIOCGWINSZ, &w3) == 0 && !memcmp(&w0, &w3, sizeof(w0)), "fd 3 the controlling terminal");
	check((fcntl(4, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_WRONLY | O_NONBLOCK), "fd 4 write-only nonblocking");
	check((fcntl(1, F_GETFL) & O_NONBLOCK) == 0, "fd 1 a description of its own");
	check(write(3, "via fd 3\n", 9) == 9 && write(4, "via fd 4\n", 9) == 9, "written through both");
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}

/* What a dump refuses: bytes the master wrote, unread at the slave
 * (`queued`); a slave a child holds, the dump taking the parent alone
 * (`outside`: prints the child's pid). */
static int refused(int outside)
{
	int ready[2];
	char c;
	pid_t child;

	at(posix_openpt(O_RDWR | O_NOCTTY), 3);
	must(unlockpt(3) == 0, "unlockpt");
	if (!outside) {
		struct termios t;

		at(open(ptsname(3), O_RDWR | O_NOCTTY), 4);
		/* No echo: the bytes wait at the slave only. */
		must(tcgetattr(4, &t) == 0, "tcgetattr");
		t.c_lflag &= ~(tcflag_t)ECHO;
		must(tcsetattr(4, TCSANOW, &t) == 0, "tcsetattr");
		must(write(3, "xyz\n", 4) == 4, "write master");
	} else {
		must(pipe(ready) == 0, "pipe");
		child = fork();
		must(child >= 0, "fork");
		if (child == 0) {
			int fd = open(ptsname(3), O_RDWR | O_NOCTTY);
			must(fd >= 0 && write(ready[1], "r", 1) == 1, "child");
			for (;;)
				pause();
		}
		must(read(ready[0], &c, 1) == 1, "child ready");
		close(ready[0]);
		close(ready[1]);
		printf("child %d\n", (int)child);
	}
	printf("ready\n");
	wait_point(1);
	printf("result ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc == 2 && !strcmp(argv[1], "queued"))
		return refused(0);
	if (argc == 2 && !strcmp(argv[1], "outside"))
		return refused(1);
	if (argc == 2 && !strcmp(argv[1], "pairs"))
		return pairs();
	if (argc == 2 && !strcmp(argv[1], "tty"))
		return tty();
	printf("usage: ptys [--wait-at 1] pairs|tty|queued|outside\n");
	return 2;
}
