/* schedattrs [--wait-at 1]: scheduling comes back, per thread. The main
 * thread runs SCHED_BATCH at nice 3 with SCHED_FLAG_RESET_ON_FORK and
 * best-effort I/O priority 2; a worker runs SCHED_IDLE with the idle I/O
 * class, pinned to the last online CPU; run as root, a second worker runs
 * SCHED_FIFO at priority 10. The process's oom_score_adj is 500. After
 * wait point 1 (dumped there) each thread prints what sched_getattr,
 * ioprio_get and sched_getaffinity report, so an uninterrupted run and a
 * restored one must print the same. Exits 1 with a FAIL line. */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

struct attr {
	unsigned int size, policy;
	unsigned long long flags;
	int nice;
	unsigned int priority;
	unsigned long long runtime, deadline, period;
};

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO(class, level) ((class) << 13 | (level))

static int last_cpu;
static pthread_barrier_t set_up, go, shown[2];

static void set_sched(unsigned int policy, unsigned long long flags, int nice, unsigned int prio, int ioprio)
{
	struct attr a = { sizeof(a), policy, flags, nice, prio, 0, 0, 0 };

	if (syscall(SYS_sched_setattr, 0, &a, 0))
		FAIL("sched_setattr policy %u: %s", policy, strerror(errno));
	/* A kernel without the block layer has no I/O priorities. */
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, ioprio) && errno != ENOSYS)
		FAIL("ioprio_set: %s", strerror(errno));
}

static void show(const char *who)
{
	struct attr a = { 0 };
	cpu_set_t cpus;

	if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) || sched_getaffinity(0, sizeof(cpus), &cpus))
		FAIL("%s: reading its scheduling: %s", who, strerror(errno));
	long io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	printf("%s: policy %u flags %#llx nice %d priority %u ioprio %ld/%ld cpus", who, a.policy, a.flags, a.nice, a.priority, io >> 13, io & 0x1fff);
	if (CPU_COUNT(&cpus) == sysconf(_SC_NPROCESSORS_ONLN))
		printf(" all");
	else
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &cpus))
				printf(" %d", c);
	printf("\n");
}

static void *idle_worker(void *arg)
{
	cpu_set_t one;

	(void)arg;
	set_sched(SCHED_IDLE, 0, 0, 0, IOPRIO(3, 0));
	CPU_ZERO(&one);
	CPU_SET(last_cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		FAIL("sched_setaffinity: %s", strerror(errno));
	pthread_barrier_wait(&set_up);
	pthread_barrier_wait(&go);
	show("idle worker");
	pthread_barrier_wait(&shown[0]);
	return NULL;
}

static void *fifo_worker(void *arg)
{
	(void)arg;
	set_sched(SCHED_FIFO, 0, 0, 10, IOPRIO(2, 4));
	pthread_barrier_wait(&set_up);
	pthread_barrier_wait(&go);
	pthread_barrier_wait(&shown[0]);
	show("fifo worker");
	pthread_barrier_wait(&shown[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int root = geteuid() == 0, n = root ? 3 : 2;
	pthread_t t[2];
	FILE *oom;

	last_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	pthread_barrier_init(&set_up, NULL, n);
	pthread_barrier_init(&go, NULL, n);
	pthread_barrier_init(&shown[0], NULL, n);
	pthread_barrier_init(&shown[1], NULL, 2);
	set_sched(SCHED_BATCH, 0x01 /* SCHED_FLAG_RESET_ON_FORK */, 3, 0, IOPRIO(2, 2));
	oom = fopen("/proc/self/oom_score_adj", "w");
	if (!oom || fprintf(oom, "500\n") < 0 || fclose(oom))
		FAIL("oom_score_adj: %s", strerror(errno));
	if (pthread_create(&t[0], NULL, idle_worker, NULL) || (root && pthread_create(&t[1], NULL, fifo_worker, NULL)))
		FAIL("pthread_create");
	pthread_barrier_wait(&set_up);
	printf("ready\n");
	wait_point(1);

	show("main");
	pthread_barrier_wait(&go);
	pthread_barrier_wait(&shown[0]);
	if (root)
		pthread_barrier_wait(&shown[1]);
	else
		printf("fifo worker: not run (not root)\n");
	pthread_join(t[0], NULL);
	if (root)
		pthread_join(t[1], NULL);
	char buf[16] = "";
	oom = fopen("/proc/self/oom_score_adj", "r");
	if (!oom || !fgets(buf, sizeof(buf), oom))
		FAIL("reading oom_score_adj");
	printf("oom_score_adj %s", buf);
	printf("result OK\n");
	return 0;
}
