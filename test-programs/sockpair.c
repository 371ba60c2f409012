/* Unix socket pairs: a stream pair with bytes queued both ways (one end
 * nonblocking, and duplicated), an empty seqpacket pair, and a stream end
 * whose peer closed after writing to it (as the JDK leaves one), and a
 * stream pair one end of which wrote, then shut its sending side down
 * (shutdown(SHUT_WR), as a client ends its request). Waits at
 * step 1 (dump point); then checks that each end reads what the other
 * wrote before the dump, that the pair still carries bytes both ways and
 * message boundaries, and the status flags, exiting non-zero on a
 * mismatch. */
#include "common.h"

#include <fcntl.h>
#include <sys/socket.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", what, ok ? "ok" : "WRONG");
	if (!ok)
		failed = 1;
}

/* Reads exactly `want` (it must be queued already: the end is read
 * nonblocking through MSG_DONTWAIT). */
static int reads(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

	return n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n);
}

int main(int argc, char **argv)
{
	int s[2], q[2], w[2], h[2];

	setup_common(&argc, &argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, q) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, w)) {
		perror("socketpair");
		return 1;
	}
	/* Stream pair at fds 3 and 4 (and 9, a dup of 4); seqpacket at 5, 6;
	 * at 7 the end whose peer (8) wrote, then closed. */
	if (s[0] != 3 || s[1] != 4 || q[0] != 5 || q[1] != 6 || w[0] != 7 || dup2(4, 9) != 9 || fcntl(4, F_SETFL, O_NONBLOCK)) {
		printf("FAIL: setup\n");
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, h) || write(h[0], "request", 7) != 7 || shutdown(h[0], SHUT_WR)) {
		printf("FAIL: the half-closed pair\n");
		return 1;
	}
	if (write(3, "to end 4", 8) != 8 || write(4, "to end ", 7) != 7 || write(4, "3", 1) != 1 ||
	    write(w[1], "last words", 10) != 10 || close(w[1])) {
		printf("FAIL: queueing\n");
		return 1;
	}
	printf("ready\n");
	wait_point(1);

	check((fcntl(3, F_GETFL) & O_NONBLOCK) == 0 && (fcntl(4, F_GETFL) & O_NONBLOCK) && (fcntl(9, F_GETFL) & O_NONBLOCK), "flags");
	check((fcntl(5, F_GETFL) & O_NONBLOCK) && (fcntl(6, F_GETFL) & O_NONBLOCK), "seqpacket flags");
	check(reads(4, "to end 4"), "queued at 4");
	check(reads(3, "to end 3"), "queued at 3");
	check(recv(9, (char[1]){0}, 1, 0) < 0 && errno == EAGAIN, "empty and nonblocking");
	check(write(9, "dup", 3) == 3 && reads(3, "dup"), "dup shares the end");
	check(send(5, "a", 1, 0) == 1 && send(5, "bc", 2, 0) == 2 && reads(6, "a") && reads(6, "bc"), "seqpacket boundaries");
	int type = 0;
	socklen_t len = sizeof type;
	check(!getsockopt(6, SOL_SOCKET, SO_TYPE, &type, &len) && type == SOCK_SEQPACKET, "seqpacket type");
	close(3);
	char byte;
	check(recv(4, &byte, 1, 0) == 0, "end of file once the peer closes");
	check(reads(7, "last words") && recv(7, &byte, 1, 0) == 0, "widowed end: queued bytes, then end of file");
	check(send(7, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "widowed end: EPIPE");
	check(reads(h[1], "request") && recv(h[1], &byte, 1, 0) == 0, "half-closed: the bytes, then end of file");
	check(send(h[0], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "half-closed: the shut side's send fails");
	check(send(h[1], "reply", 5, 0) == 5 && reads(h[0], "reply"), "half-closed: the other way still carries bytes");
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}
