/* Process trees for the restore tests (issue 15). Modes:
 *
 *   treework [--wait-at K] produce N   lines "n I" for I = 1..N on stdout; wait
 *                                      point K before line K, announced on
 *                                      stderr (stdout is the pipeline's pipe)
 *   treework filter                    "n I" in, "sq I I*I" out
 *   treework consume N                 checks it gets I = 1..N in order, prints
 *                                      "result SUM" (exits 1 if off)
 *
 *   treework [--wait-at 1] workers W T a parent forks W workers in a process
 *                                      group of their own (the first leads it)
 *                                      that take T tasks from one pipe and
 *                                      answer on another, a child that exits 7
 *                                      (left a zombie) and one that stops
 *                                      itself; wait point 1 once all that is
 *                                      so. Then it signals the workers' group
 *                                      (SIGUSR1: each counts it), hands out
 *                                      the tasks (each worker adds its answers
 *                                      to a MAP_SHARED anonymous page the
 *                                      parent mapped before forking, and
 *                                      checks the parent's value there), reaps
 *                                      the zombie (status 7),
 *                                      sees the stopped child stopped,
 *                                      continues and reaps it, reaps the
 *                                      workers (each exits with its count of
 *                                      SIGUSR1, which must be 1) and prints
 *                                      "result ..."; exits 1 on any mismatch.
 *
 *   treework [--wait-at 1] sharers W T workers as above sharing the MAP_SHARED
 *                                      anonymous page, nothing that needs a
 *                                      pid: reaped with waitpid(-1), the
 *                                      total checked there.
 *
 *   treework [--wait-at K] family N    a pipeline inside one program, which
 *                                      needs no pid of its children: the
 *                                      parent writes lines "n I" into a pipe
 *                                      to a filter child, which feeds a
 *                                      consumer child printing "result SUM"
 *                                      on the shared stdout; a child that
 *                                      exits 7 (a zombie) and one that stops
 *                                      itself. Wait point K before line K.
 *                                      Then it collects every child with
 *                                      waitpid(-1) (continuing the stopped
 *                                      one) and prints their exit codes,
 *                                      sorted: "exits 0 0 0 7".
 *
 *   treework [--wait-at 1] fan N       N - 1 children blocked on one pipe; at
 *                                      wait point 1 all exist; then the pipe
 *                                      is closed, each exits 3, the parent
 *                                      reaps them (waitpid(-1)) and prints
 *                                      "result N" (restore time benchmark)
 *
 * Uninterrupted runs print the same lines as restored ones. */
#include "common.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static int fail(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	return 1;
}

/* The wait point of a pipeline's producer: its stdout is the pipe, so it
 * says so on stderr. */
static void wait_on_stderr(long step)
{
	for (int i = 0; i < n_waits; i++) {
		char byte;
		ssize_t n;

		if (wait_steps[i] != step)
			continue;
		fprintf(stderr, "waiting at %ld\n", step);
		do
			n = read(0, &byte, 1);
		while (n < 0 && errno == EINTR);
	}
}

static int produce(long n)
{
	for (long i = 1; i <= n; i++) {
		wait_on_stderr(i);
		printf("n %ld\n", i);
	}
	return 0;
}

static int filter(void)
{
	char line[128];
	long i;

	while (fgets(line, sizeof(line), stdin))
		if (sscanf(line, "n %ld", &i) == 1)
			printf("sq %ld %ld\n", i, i * i);
	return 0;
}

static int consume(long n)
{
	char line[128];
	long i, sq, next = 1, sum = 0;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "sq %ld %ld", &i, &sq) != 2 || i != next || sq != i * i) {
			printf("FAIL: line %ld: %s", next, line);
			return 1;
		}
		sum += sq;
		next++;
	}
	if (next != n + 1) {
		printf("FAIL: %ld lines, want %ld\n", next - 1, n);
		return 1;
	}
	printf("result %ld\n", sum);
	return 0;
}

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static volatile long *shared; /* MAP_SHARED anonymous: [0] set by the parent, [1] the workers' total */

/* The workers' shared page (shared[0] the parent's value) and the task and
 * answer pipes; 0 or a failure's status. */
static int share_setup(int w, int todo[2], int done[2])
{
	if (w < 1 || w > 16)
		return fail("worker count");
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return fail("mmap shared");
	shared[0] = 12345;
	if (pipe(todo) || pipe(done))
		return fail("pipe");
	return 0;
}

/* Writes tasks 1..TASKS, closes the task pipe, adds up the answers. */
static int hand_out(long tasks, int todo, int done, long *sum)
{
	long answer;

	for (long t = 1; t <= tasks; t++)
		if (write(todo, &t, sizeof(t)) != sizeof(t))
			return fail("write task");
	close(todo);
	for (long t = 1; t <= tasks; t++) {
		if (read(done, &answer, sizeof(answer)) != sizeof(answer))
			return fail("read answer");
		*sum += answer;
	}
	return 0;
}

/* The workers' total in the shared page against the answers; the result. */
static int report_total(long sum, long tasks)
{
	if (shared[1] != sum) {
		printf("FAIL: shared memory total %ld, answers %ld\n", shared[1], sum);
		return 1;
	}
	printf("shared memory total %ld\n", shared[1]);
	printf("result %ld\n", sum);
	return sum == 3 * tasks * (tasks + 1) / 2 ? 0 : 1;
}

/* A worker: tasks (one long each) from `in` until end of file, answers
 * (task*3) to `out`; exits with how often SIGUSR1 came. */

static int worker(int in, int out)
{
	long task, answer;
	ssize_t n;

	for (;;) {
		n = read(in, &task, sizeof(task));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(task))
			break;
		answer = task * 3;
		__atomic_add_fetch(&shared[1], answer, __ATOMIC_SEQ_CST);
		if (write(out, &answer, sizeof(answer)) != sizeof(answer))
			return 100;
	}
	if (shared[0] != 12345)
		return 101;
	return usr1;
}

static int workers(int w, long tasks)
{
	int todo[2], done[2];
	pid_t pids[16], zombie, stopped, group = 0;
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t block, old;
	int status;
	long sum = 0;

	if (share_setup(w, todo, done))
		return 1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		return fail("sigaction");
	/* Until the worker has its handler: SIGUSR1 blocked, then unblocked. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < w; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return fail("fork");
		if (pids[i] == 0) {
			close(todo[1]);
			close(done[0]);
			setpgid(0, group);
			sigprocmask(SIG_SETMASK, &old, NULL);
			_exit(worker(todo[0], done[1]));
		}
		/* As a shell does: the parent sets the group too. */
		setpgid(pids[i], group);
		if (!group)
			group = pids[i];
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(todo[0]);
	close(done[1]);
	zombie = fork();
	if (zombie == 0)
		_exit(7);
	stopped = fork();
	if (stopped == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	/* Settled: the zombie has exited, the other child is stopped (both
	 * seen without reaping, WNOWAIT). */
	{
		siginfo_t si;

		if (waitid(P_PID, zombie, &si, WEXITED | WNOWAIT))
			return fail("waitid zombie");
		if (waitid(P_PID, stopped, &si, WSTOPPED | WNOWAIT))
			return fail("waitid stopped");
	}
	printf("ready\n");
	fflush(stdout);
	wait_point(1);

	if (kill(-group, SIGUSR1))
		return fail("kill group");
	if (hand_out(tasks, todo[1], done[0], &sum))
		return 1;
	if (waitpid(zombie, &status, 0) != zombie || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		return fail("zombie's status");
	printf("zombie exited 7\n");
	if (waitpid(stopped, &status, WUNTRACED) != stopped || !WIFSTOPPED(status))
		return fail("stopped child");
	printf("child stopped by %s\n", WSTOPSIG(status) == SIGSTOP ? "SIGSTOP" : "another signal");
	kill(stopped, SIGCONT);
	if (waitpid(stopped, &status, 0) != stopped || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("continued child");
	for (int i = 0; i < w; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status))
			return fail("worker");
		if (WEXITSTATUS(status) != 1) {
			printf("FAIL: worker %d got SIGUSR1 %d times\n", i, WEXITSTATUS(status));
			return 1;
		}
	}
	printf("workers got one SIGUSR1 each\n");
	return report_total(sum, tasks);
}

/* Workers sharing MAP_SHARED|MAP_ANONYMOUS memory with their parent and
 * nothing that needs a pid (for restores that give new pids): W workers
 * take T tasks from one pipe, answer on another and add their answers to
 * the shared page; wait point 1 once all are forked; then the parent hands
 * out the tasks, reaps the workers with waitpid(-1) (each exits with 0, or
 * 101 if the parent's value in the shared page is off) and checks the
 * total there. */
static int sharers(int w, long tasks)
{
	int todo[2], done[2], status;
	long sum = 0;

	if (share_setup(w, todo, done))
		return 1;
	for (int i = 0; i < w; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return fail("fork");
		if (pid == 0) {
			close(todo[1]);
			close(done[0]);
			_exit(worker(todo[0], done[1]) == 101 ? 101 : 0);
		}
	}
	close(todo[0]);
	close(done[1]);
	printf("ready\n");
	fflush(stdout);
	wait_point(1);

	if (hand_out(tasks, todo[1], done[0], &sum))
		return 1;
	for (int i = 0; i < w; i++) {
		if (waitpid(-1, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("FAIL: a worker saw the parent's value off in the shared page\n");
			return 1;
		}
	}
	return report_total(sum, tasks);
}

static int family(long n)
{
	int p1[2], p2[2], codes[4], status, got = 0, stops = 0, stopsig = 0;
	pid_t pid;
	siginfo_t si;

	if (pipe(p1) || pipe(p2))
		return fail("pipe");
	fflush(stdout);
	if ((pid = fork()) == 0) {
		dup2(p1[0], 0);
		dup2(p2[1], 1);
		close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
		_exit(filter());
	}
	if ((pid = fork()) == 0) {
		dup2(p2[0], 0);
		close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
		_exit(consume(n));
	}
	close(p1[0]);
	close(p2[0]);
	close(p2[1]);
	if ((pid = fork()) == 0)
		_exit(7);
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		return fail("waitid zombie");
	if ((pid = fork()) == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT))
		return fail("waitid stopped");
	printf("ready\n");
	fflush(stdout);
	for (long i = 1; i <= n; i++) {
		char line[64];
		int len;

		wait_point(i);
		len = snprintf(line, sizeof(line), "n %ld\n", i);
		if (write(p1[1], line, len) != len)
			return fail("write line");
	}
	close(p1[1]);
	while (got < 4) {
		pid = waitpid(-1, &status, WUNTRACED);
		if (pid < 0)
			return fail("waitpid");
		if (WIFSTOPPED(status)) {
			stops++;
			stopsig = WSTOPSIG(status);
			kill(pid, SIGCONT);
			continue;
		}
		codes[got++] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (codes[j] < codes[i]) {
				int c = codes[i];
				codes[i] = codes[j];
				codes[j] = c;
			}
	printf("stopped children %d, by %s\n", stops, stopsig == SIGSTOP ? "SIGSTOP" : "another signal");
	printf("exits %d %d %d %d\n", codes[0], codes[1], codes[2], codes[3]);
	printf("result done\n");
	return codes[0] || codes[1] || codes[2] || codes[3] != 7 || stops != 1;
}

static int fan(long n)
{
	int p[2], status;
	long reaped = 0;
	char byte;

	if (pipe(p))
		return fail("pipe");
	for (long i = 1; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return fail("fork");
		if (pid == 0) {
			close(p[1]);
			while (read(p[0], &byte, 1) < 0 && errno == EINTR)
				;
			_exit(3);
		}
	}
	close(p[0]);
	printf("ready\n");
	wait_point(1);
	close(p[1]);
	while (reaped < n - 1) {
		if (waitpid(-1, &status, 0) < 0)
			return fail("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 3)
			return fail("child status");
		reaped++;
	}
	printf("result %ld\n", reaped + 1);
	return 0;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc == 3 && !strcmp(argv[1], "produce"))
		return produce(atol(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "filter"))
		return filter();
	if (argc == 3 && !strcmp(argv[1], "consume"))
		return consume(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "fan"))
		return fan(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "family"))
		return family(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "workers"))
		return workers(atoi(argv[2]), atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "sharers"))
		return sharers(atoi(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: treework [--wait-at K] produce N | filter | consume N | family N | fan N | workers W TASKS | sharers W TASKS\n");
	return 2;
}
