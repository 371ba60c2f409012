/* logclient [--wait-at 1] DGRAM_PATH [STREAM_PATH]: unix sockets
 * connected to servers outside the process, as a syslog client's is to
 * /dev/log. Connects an unbound datagram socket to the server at
 * DGRAM_PATH and sends "before"; with STREAM_PATH also connects a stream
 * socket to the listener there. After wait point 1 (dumped there) it sends
 * "after" on the datagram socket (the server gets it: the socket is
 * connected to that name again) and checks the socket is still unbound and
 * connected to DGRAM_PATH; then reads the stream socket once and says
 * what it got (a restore with --tcp-established=reset gives end of file)
 * and what a write gets (EPIPE then). Prints one line per check and
 * "result OK"; exits 1 with a FAIL line.
 * logclient --serve PATH N: the server: binds a datagram socket at PATH,
 * prints "serving", then prints each of N datagrams it receives. */
#include "common.h"
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static int connect_to(int type, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		FAIL("socket for %s: %s", path, strerror(errno));
	strcpy(a.sun_path, path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		FAIL("connect to %s: %s", path, strerror(errno));
	return fd;
}

static int serve(const char *path, int n)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		FAIL("socket for %s: %s", path, strerror(errno));
	strcpy(a.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		FAIL("bind %s: %s", path, strerror(errno));
	printf("serving\n");
	for (int i = 0; i < n; i++) {
		char buf[64];
		ssize_t got = recv(fd, buf, sizeof(buf) - 1, 0);
		if (got < 0)
			FAIL("recv: %s", strerror(errno));
		buf[got] = 0;
		printf("got %s\n", buf);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc == 4 && !strcmp(argv[1], "--serve"))
		return serve(argv[2], atoi(argv[3]));
	if (argc < 2)
		FAIL("usage: logclient [--wait-at 1] DGRAM_PATH [STREAM_PATH]");
	signal(SIGPIPE, SIG_IGN);
	int dgram = connect_to(SOCK_DGRAM, argv[1]);
	int stream = argc > 2 ? connect_to(SOCK_STREAM, argv[2]) : -1;
	if (send(dgram, "before", 6, 0) != 6)
		FAIL("send before: %s", strerror(errno));
	printf("ready\n");
	wait_point(1);

	if (send(dgram, "after", 5, 0) != 5)
		FAIL("send after: %s", strerror(errno));
	printf("datagram: sent after the wait point\n");
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	if (getsockname(dgram, (struct sockaddr *)&a, &len) || len != offsetof(struct sockaddr_un, sun_path))
		FAIL("datagram: bound (name of %u bytes)", len);
	len = sizeof(a);
	if (getpeername(dgram, (struct sockaddr *)&a, &len) || strcmp(a.sun_path, argv[1]))
		FAIL("datagram: not connected to %s", argv[1]);
	printf("datagram: unbound, connected to the server's name\n");
	if (stream >= 0) {
		char buf[16];
		ssize_t n = read(stream, buf, sizeof(buf));
		if (n < 0)
			printf("stream: read failed: %s\n", strerror(errno));
		else if (n == 0)
			printf("stream: end of file\n");
		else
			printf("stream: %zd bytes\n", n);
		n = write(stream, "x", 1);
		printf("stream: write %s\n", n == 1 ? "sent" : strerror(errno));
	}
	printf("result OK\n");
	return 0;
}
