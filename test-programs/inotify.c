/* inotify: an instance at fd 3 (nonblocking) watching DIR for IN_CREATE
 * (wd 1) and DIR/file for IN_MODIFY (wd 2). Waits at step 1 (dump point);
 * then checks that no event is pending, that creating DIR/new gives wd 1
 * IN_CREATE "new", that writing DIR/file gives wd 2 IN_MODIFY, and exits
 * non-zero on a mismatch. */
#include "common.h"

#include <fcntl.h>
#include <sys/inotify.h>

static int failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", what, ok ? "ok" : "WRONG");
	if (!ok)
		failed = 1;
}

/* The next event: its wd and mask, and its name into `name`. */
static int event(int fd, int *wd, unsigned *mask, char *name, size_t len)
{
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(fd, buf, sizeof buf);
	struct inotify_event *e = (struct inotify_event *)buf;

	if (n < (ssize_t)sizeof *e)
		return 0;
	*wd = e->wd;
	*mask = e->mask;
	snprintf(name, len, "%.200s", e->len ? e->name : "");
	return 1;
}

int main(int argc, char **argv)
{
	char file[4096], created[4096], name[256];
	int wd;
	unsigned mask;

	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: inotify [--wait-at 1] DIR");
	snprintf(file, sizeof file, "%s/file", argv[1]);
	snprintf(created, sizeof created, "%s/new", argv[1]);
	unlink(created);
	int f = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f < 0)
		FAIL("creating %s", file);
	close(f);
	int in = inotify_init1(IN_NONBLOCK);
	if (in != 3 || inotify_add_watch(in, argv[1], IN_CREATE) != 1 || inotify_add_watch(in, file, IN_MODIFY) != 2)
		FAIL("inotify setup");
	printf("ready\n");
	wait_point(1);

	check(fcntl(3, F_GETFL) & O_NONBLOCK, "nonblocking");
	check(read(3, name, sizeof name) < 0 && errno == EAGAIN, "no event pending");
	f = open(created, O_WRONLY | O_CREAT, 0644);
	check(f >= 0 && event(3, &wd, &mask, name, sizeof name) && wd == 1 && mask == IN_CREATE && !strcmp(name, "new"), "create seen");
	close(f);
	f = open(file, O_WRONLY);
	check(f >= 0 && write(f, "x", 1) == 1 && event(3, &wd, &mask, name, sizeof name) && wd == 2 && mask == IN_MODIFY, "modify seen");
	close(f);
	unlink(created);
	printf("result %s\n", failed ? "WRONG" : "ok");
	return failed;
}
