/* filtered [--wait-at 1] [--no-nnp]: seccomp filters come back. Installs
 * three filters on both threads at once (TSYNC): one that allows
 * everything and logs, one that fails uname(2) with EPERM, one that kills
 * the process on prctl(2) or sigaltstack(2), which a dump injects (it
 * must suspend the filters while it does). With --no-nnp (root only)
 * no_new_privs stays off, which a restore needs CAP_SYS_ADMIN for. After
 * wait point 1 (dumped there) both threads check that uname still fails
 * with EPERM and getpid works, and /proc/self/status shows the mode, the
 * number of filters and no_new_privs. Exits 1 with a FAIL line. */
#include "common.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

static pthread_barrier_t installed, go;

static const char *check(void)
{
	struct utsname u;

	errno = 0;
	if (uname(&u) == 0 || errno != EPERM)
		return "uname not filtered";
	return getpid() > 0 ? "uname EPERM, getpid works" : "getpid failed";
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&installed);
	pthread_barrier_wait(&go);
	printf("worker: %s\n", check());
	return NULL;
}

static void install(struct sock_filter *code, unsigned short len, unsigned int flags)
{
	struct sock_fprog prog = { len, code };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags | SECCOMP_FILTER_FLAG_TSYNC, &prog))
		FAIL("seccomp: %s", strerror(errno));
}

static void status_line(const char *key)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			printf("%s", line);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int nnp = !(argc > 1 && !strcmp(argv[1], "--no-nnp"));
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_filter no_uname[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter no_prctl[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sigaltstack, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	pthread_t t;

	pthread_barrier_init(&installed, NULL, 2);
	pthread_barrier_init(&go, NULL, 2);
	if (pthread_create(&t, NULL, worker, NULL))
		FAIL("pthread_create");
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		FAIL("no_new_privs: %s", strerror(errno));
	install(allow, 1, SECCOMP_FILTER_FLAG_LOG);
	install(no_uname, 4, 0);
	install(no_prctl, 5, 0);
	pthread_barrier_wait(&installed);
	printf("ready\n");
	wait_point(1);

	printf("main: %s\n", check());
	status_line("NoNewPrivs:");
	status_line("Seccomp:");
	status_line("Seccomp_filters:");
	pthread_barrier_wait(&go);
	pthread_join(t, NULL);
	printf("result OK\n");
	return 0;
}
