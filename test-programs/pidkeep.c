/* pidkeep: a process whose PID and thread TIDs are part of its state.
 * It starts two threads, saves getpid() and every thread's gettid() (and
 * checks glibc's own getpid/gettid agree with the system calls), waits at
 * step 1, then checks each again: "pid kept" and "tids kept" when they are
 * the saved ones, "pid changed"/"tids changed" otherwise. A test that
 * expects the PID kept (restored in a PID namespace of its own) looks for
 * "kept"; one that restores in place looks for "changed". Exit 0 unless a
 * thread or system call fails. Prints nothing that depends on the PIDs,
 * so a reference run's other lines match. */
#include "common.h"
#include <pthread.h>

static pid_t saved_tid[3];
static pid_t now_tid[3];
static pthread_barrier_t saved, resumed, checked;

static void *worker(void *arg)
{
	long i = (long)arg;

	saved_tid[i] = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&saved);
	pthread_barrier_wait(&resumed);
	now_tid[i] = (pid_t)syscall(SYS_gettid);
	if (now_tid[i] != gettid()) {
		printf("FAIL: thread %ld: glibc's gettid %d, the kernel's %d\n", i, gettid(), now_tid[i]);
		exit(1);
	}
	pthread_barrier_wait(&checked);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[2];
	pid_t pid;
	int tids_same = 1;

	setup_common(&argc, &argv);
	pthread_barrier_init(&saved, NULL, 3);
	pthread_barrier_init(&resumed, NULL, 3);
	pthread_barrier_init(&checked, NULL, 3);
	for (long i = 1; i <= 2; i++)
		if (pthread_create(&t[i - 1], NULL, worker, (void *)i)) {
			printf("FAIL: pthread_create\n");
			return 1;
		}
	pid = getpid();
	saved_tid[0] = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&saved);
	printf("ready\n");
	wait_point(1);
	pthread_barrier_wait(&resumed);
	now_tid[0] = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&checked);
	if (getpid() != (pid_t)syscall(SYS_getpid)) {
		printf("FAIL: glibc's getpid %d, the kernel's %ld\n", getpid(), syscall(SYS_getpid));
		return 1;
	}
	for (int i = 0; i < 3; i++)
		tids_same &= now_tid[i] == saved_tid[i];
	printf("pid %s\n", getpid() == pid ? "kept" : "changed");
	printf("tids %s\n", tids_same ? "kept" : "changed");
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("result ok\n");
	return 0;
}
