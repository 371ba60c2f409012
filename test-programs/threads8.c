/* threads8 [--wait-at K,...] ITER [SLEEP_US]: 8 worker threads, each with its own hash
 * loop, sharing a counter under a mutex with a condition variable; the
 * main thread sends SIGUSR1 with pthread_kill to worker 3 three times and
 * checks the handler ran in that thread. Prints "ready", "progress K/10"
 * and "result HASH". Each worker names itself "worker-N" and checks at its
 * end that it still has that name (a restore must give it back). A wait point K (common.h) is taken at progress K by
 * the main thread while the workers wait at the shared count that progress
 * K stands for, so every thread is there when the process is dumped. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#define NT 8
#define TARGET 3

struct worker {
	pthread_t th;
	int idx;
	uint64_t hash;
};

static long iter, us;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long shared_count;
/* The workers do not take the shared count past this (a wait point's). */
static long hold_at = -1;
static int started;
static __thread int my_idx = -1;
static atomic_int hits, wrong_thread, wrong_name;

static void on_usr1(int sig)
{
	(void)sig;
	if (my_idx == TARGET)
		atomic_fetch_add(&hits, 1);
	else
		atomic_store(&wrong_thread, 1);
}

/* The shared count at the first wait point after progress K, or -1. */
static long hold_after(long k, long total)
{
	long next = -1;
	for (int i = 0; i < n_waits; i++)
		if (wait_steps[i] > k && wait_steps[i] <= 10 && (next < 0 || wait_steps[i] < next))
			next = wait_steps[i];
	return next < 0 ? -1 : next * total / 10;
}

static void *work(void *p)
{
	struct worker *w = p;
	char name[16], now[16] = "";
	my_idx = w->idx;
	snprintf(name, sizeof(name), "worker-%d", w->idx);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&mu);
	started++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < iter; i++) {
		w->hash = mix64(w->hash, (uint64_t)i * (w->idx + 1));
		pthread_mutex_lock(&mu);
		while (shared_count == hold_at)
			pthread_cond_wait(&cv, &mu);
		shared_count++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		sleep_us(us);
	}
	prctl(PR_GET_NAME, now);
	if (strcmp(now, name))
		atomic_fetch_add(&wrong_name, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	iter = arg_or(argc, argv, 1, 1000);
	us = arg_or(argc, argv, 2, 1000);
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	struct worker w[NT];
	hold_at = hold_after(0, NT * iter);
	for (int i = 0; i < NT; i++) {
		w[i].idx = i;
		w[i].hash = i;
		if (pthread_create(&w[i].th, NULL, work, &w[i]))
			FAIL("pthread_create");
	}
	pthread_mutex_lock(&mu);
	while (started < NT)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	printf("ready\n");
	long total = NT * iter;
	for (int k = 1; k <= 10; k++) {
		pthread_mutex_lock(&mu);
		while (shared_count < k * total / 10)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		printf("progress %d/10\n", k);
		if (k <= 3) {
			if (pthread_kill(w[TARGET].th, SIGUSR1))
				FAIL("pthread_kill");
			while (atomic_load(&hits) < k)
				sleep_us(100);
		}
		wait_point(k);
		pthread_mutex_lock(&mu);
		hold_at = hold_after(k, total);
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	uint64_t sum = 0;
	for (int i = 0; i < NT; i++) {
		pthread_join(w[i].th, NULL);
		sum = mix64(sum, w[i].hash);
	}
	if (shared_count != total)
		FAIL("shared count %ld, expected %ld", shared_count, total);
	if (atomic_load(&wrong_thread) || atomic_load(&hits) != 3)
		FAIL("SIGUSR1 reached the wrong thread or got lost (hits %d)", atomic_load(&hits));
	if (atomic_load(&wrong_name))
		FAIL("%d workers lost their names", atomic_load(&wrong_name));
	sum = mix64(sum, (uint64_t)shared_count);
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
