/* An established TCP connection across a restore: the client end of a
 * conversation with a server the test runs itself (outside the image).
 *   tcpconv PORT
 * Connects to 127.0.0.1:PORT (fd 3), sends "client hello\n", waits until
 * the server's 50000-byte greeting is all in its receive queue (peeked,
 * not read), then waits at step 1 (the dump point: the greeting is in the
 * queue the image carries). Then reads the greeting and checks its
 * pattern, does 10 rounds of sending 3000 bytes and checking that they
 * come back each byte + 1, sends "bye", shuts down its sending side and
 * reads the server's end of file. Prints each step and a hash of all it
 * received; exits non-zero if anything is off. */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define GREETING 50000
#define ROUNDS 10
#define BLOCK 3000

static uint64_t hash = 1469598103934665603ULL;

static unsigned char pattern(long k)
{
	return (unsigned char)(k * 7 + k / 251);
}

static void die(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void send_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("send");
		p += k;
		n -= (size_t)k;
	}
}

static void recv_all(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("recv");
		if (k == 0) {
			printf("FAIL: end of file with %zu bytes to come\n", n);
			exit(1);
		}
		for (ssize_t i = 0; i < k; i++)
			hash = mix64(hash, p[i]);
		p += k;
		n -= (size_t)k;
	}
}

int main(int argc, char **argv)
{
	static unsigned char buf[GREETING];
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, ok = 1;

	setup_common(&argc, &argv);
	if (argc != 2) {
		printf("usage: tcpconv [--wait-at 1] PORT\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd != 3)
		die("socket at fd 3");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	send_all(fd, (const unsigned char *)"client hello\n", 13);
	/* The whole greeting queued here, nothing consumed. */
	for (;;) {
		ssize_t k = recv(fd, buf, GREETING, MSG_PEEK | MSG_WAITALL);
		if (k == GREETING)
			break;
		if (k < 0 && errno != EINTR)
			die("peek");
		if (k == 0) {
			printf("FAIL: end of file before the greeting\n");
			return 1;
		}
	}
	printf("connected, greeting queued\n");
	wait_point(1);
	recv_all(fd, buf, GREETING);
	for (long k = 0; k < GREETING; k++)
		ok &= buf[k] == pattern(k);
	printf("greeting %s\n", ok ? "ok" : "WRONG");
	for (int r = 0; r < ROUNDS; r++) {
		unsigned char out[BLOCK], back[BLOCK];
		int same = 1;
		for (int i = 0; i < BLOCK; i++)
			out[i] = pattern(r * BLOCK + i + 13);
		send_all(fd, out, BLOCK);
		recv_all(fd, back, BLOCK);
		for (int i = 0; i < BLOCK; i++)
			same &= back[i] == (unsigned char)(out[i] + 1);
		printf("round %d %s\n", r, same ? "ok" : "WRONG");
		ok &= same;
	}
	send_all(fd, (const unsigned char *)"bye\n", 4);
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	ssize_t k = recv(fd, buf, 1, 0);
	printf("end of file %s\n", k == 0 ? "ok" : "WRONG");
	ok &= k == 0;
	printf("hash %016llx\n", (unsigned long long)hash);
	printf("result %s\n", ok ? "ok" : "WRONG");
	return ok ? 0 : 1;
}
