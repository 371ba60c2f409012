/* unixconn [--wait-at 1] DIR: connections a named unix listener accepted.
 * Binds a stream listener at DIR/sock; connects to it itself (both ends
 * in this process, bytes queued each way) and from a child (the child's
 * end in the child). After wait point 1 (the two dumped there as a tree)
 * the process reads what was queued, sends both ways on each connection,
 * the child answers what it reads, and the listener accepts one more
 * connection. Prints one line per check and "result OK"; exits 1 with a
 * FAIL line. */
#include "common.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static void exact(int fd, const char *want, const char *what)
{
	char buf[64];
	size_t n = strlen(want), got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			FAIL("%s: read %zd: %s", what, r, strerror(errno));
		got += (size_t)r;
	}
	if (memcmp(buf, want, n))
		FAIL("%s: wrong bytes", what);
	printf("%s: %s\n", what, want);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: unixconn DIR");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", argv[1]);
	unlink(a.sun_path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0), p[2];
	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) || connect(c, (struct sockaddr *)&a, sizeof(a)))
		FAIL("listener: %s", strerror(errno));
	int s = accept(l, NULL, NULL);
	if (s < 0 || write(c, "hello server", 12) != 12 || write(s, "hello client", 12) != 12 || pipe(p))
		FAIL("self connection: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		close(l), close(s), close(c), close(p[0]);
		int k = socket(AF_UNIX, SOCK_STREAM, 0);
		if (k < 0 || connect(k, (struct sockaddr *)&a, sizeof(a)) || write(p[1], "c", 1) != 1)
			_exit(2);
		char buf[16];
		ssize_t n = read(k, buf, sizeof(buf));
		if (n <= 0 || write(k, "child got ", 10) != 10 || write(k, buf, (size_t)n) != n)
			_exit(3);
		_exit(0);
	}
	char byte;
	close(p[1]);
	if (read(p[0], &byte, 1) != 1)
		FAIL("the child did not connect");
	int k = accept(l, NULL, NULL);
	if (k < 0)
		FAIL("accept: %s", strerror(errno));
	printf("ready\n");
	wait_point(1);

	exact(s, "hello server", "accepted end");
	exact(c, "hello client", "client end");
	if (write(s, "ping", 4) != 4 || write(c, "pong", 4) != 4)
		FAIL("write: %s", strerror(errno));
	exact(c, "ping", "client end again");
	exact(s, "pong", "accepted end again");
	if (write(k, "ping", 4) != 4)
		FAIL("write to the child: %s", strerror(errno));
	exact(k, "child got ping", "the child's connection");
	int status;
	if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		FAIL("child: %d", status);
	int late = socket(AF_UNIX, SOCK_STREAM, 0);
	if (late < 0 || connect(late, (struct sockaddr *)&a, sizeof(a)) || accept(l, NULL, NULL) < 0)
		FAIL("a later connection: %s", strerror(errno));
	printf("the listener accepts a later connection\n");
	unlink(a.sun_path);
	printf("result OK\n");
	return 0;
}
