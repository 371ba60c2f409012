/*
 * stub-selftest STUB.BIN: runs the restorer stub on this very process and
 * checks that every thread it resumes has exactly the state the plan asked
 * for: all general registers, flags, ymm0-15 (xmm0-15 without AVX), fs_base,
 * signal mask, alternate signal stack, rseq registration, the cached TID, a
 * signal action, and that the stub's body and plan are gone afterwards while
 * its final page (with its signature) stays.
 *
 * First, in forked children, the same plan with one step made to fail: each
 * child must print exactly the one line naming the step (plan.h,
 * CHKPT_STEPS) on its stderr and die by SIGSEGV.
 *
 * It plays the restorer's part by hand: no image is involved, so the stub is
 * tested on its own before the module or the userspace restorer use it.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan.h"

#define NTHREADS 4 /* the resuming main thread and three spawned ones */
#define STACK_SIZE (64 * 1024)
#define NGPR 16

/* What each thread saves on entry to resume_point, in this order. */
struct saved {
	uint64_t gpr[NGPR]; /* rax rbx rcx rdx rsi rdi rbp r8..r15, and slot 6 is rbp */
	uint64_t rsp;
	uint64_t flags;
	uint64_t pad[2];
	uint64_t vec[16][4]; /* ymm (or xmm in the low half) */
};

struct expect {
	uint64_t gpr[NGPR];
	uint64_t rsp;
	uint64_t flags;
	uint64_t vec[16][4];
	uint64_t fs_base;
	uint64_t sigmask;
	uint64_t ss_sp, ss_size;
	uint32_t tid_cache;         /* tid_slot points here */
	volatile uint32_t ctid;     /* clear_child_tid: the kernel clears it at exit */
	struct { uint32_t cpu_id_start, cpu_id; uint64_t cs; uint32_t flags; uint32_t pad[3]; } __attribute__((aligned(32))) rseq;
	char *stack;
	char altstack[16384];
	volatile int verdict;       /* 1 pass, -1 fail */
	const char *what;           /* first mismatch, formatted by the main thread */
	uint64_t got, want;
};

static struct expect expect[NTHREADS];
static int have_avx;
static volatile int usr2_seen;

extern char resume_point[];
void check_resumed(struct saved *s);

/* Saves every register exactly as rt_sigreturn left it, then calls check_resumed. */
__asm__(
	".text\n"
	".globl resume_point\n"
	"resume_point:\n"
	"  pushfq\n"                        /* first: anything else may change flags */
	"  lea rsp, [rsp - 1016]\n"
	"  mov [rsp + 0], rax\n  mov [rsp + 8], rbx\n  mov [rsp + 16], rcx\n  mov [rsp + 24], rdx\n"
	"  mov [rsp + 32], rsi\n  mov [rsp + 40], rdi\n  mov [rsp + 48], rbp\n  mov [rsp + 56], r8\n"
	"  mov [rsp + 64], r9\n  mov [rsp + 72], r10\n  mov [rsp + 80], r11\n  mov [rsp + 88], r12\n"
	"  mov [rsp + 96], r13\n  mov [rsp + 104], r14\n  mov [rsp + 112], r15\n"
	"  mov rax, [rsp + 1016]\n  mov [rsp + 136], rax\n"
	"  mov rax, [rip + have_avx]\n  test eax, eax\n  jz 1f\n"
	"  vmovdqu [rsp + 160 + 0*32], ymm0\n  vmovdqu [rsp + 160 + 1*32], ymm1\n"
	"  vmovdqu [rsp + 160 + 2*32], ymm2\n  vmovdqu [rsp + 160 + 3*32], ymm3\n"
	"  vmovdqu [rsp + 160 + 4*32], ymm4\n  vmovdqu [rsp + 160 + 5*32], ymm5\n"
	"  vmovdqu [rsp + 160 + 6*32], ymm6\n  vmovdqu [rsp + 160 + 7*32], ymm7\n"
	"  vmovdqu [rsp + 160 + 8*32], ymm8\n  vmovdqu [rsp + 160 + 9*32], ymm9\n"
	"  vmovdqu [rsp + 160 + 10*32], ymm10\n  vmovdqu [rsp + 160 + 11*32], ymm11\n"
	"  vmovdqu [rsp + 160 + 12*32], ymm12\n  vmovdqu [rsp + 160 + 13*32], ymm13\n"
	"  vmovdqu [rsp + 160 + 14*32], ymm14\n  vmovdqu [rsp + 160 + 15*32], ymm15\n"
	"  jmp 2f\n"
	"1:\n"
	"  movdqu [rsp + 160 + 0*32], xmm0\n  movdqu [rsp + 160 + 1*32], xmm1\n"
	"  movdqu [rsp + 160 + 2*32], xmm2\n  movdqu [rsp + 160 + 3*32], xmm3\n"
	"  movdqu [rsp + 160 + 4*32], xmm4\n  movdqu [rsp + 160 + 5*32], xmm5\n"
	"  movdqu [rsp + 160 + 6*32], xmm6\n  movdqu [rsp + 160 + 7*32], xmm7\n"
	"  movdqu [rsp + 160 + 8*32], xmm8\n  movdqu [rsp + 160 + 9*32], xmm9\n"
	"  movdqu [rsp + 160 + 10*32], xmm10\n  movdqu [rsp + 160 + 11*32], xmm11\n"
	"  movdqu [rsp + 160 + 12*32], xmm12\n  movdqu [rsp + 160 + 13*32], xmm13\n"
	"  movdqu [rsp + 160 + 14*32], xmm14\n  movdqu [rsp + 160 + 15*32], xmm15\n"
	"2:\n"
	"  mov rdi, rsp\n"
	"  and rsp, -16\n"
	"  call check_resumed\n"
	"  ud2\n");

/* Spawned threads run with a made-up fs_base: no libc, no TLS, in here. */
static void failf(struct expect *e, const char *what, uint64_t got, uint64_t want)
{
	if (e->verdict == 0) {
		e->what = what;
		e->got = got;
		e->want = want;
	}
	e->verdict = -1;
}

static long raw(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

static void main_continues(void);

void check_resumed(struct saved *s)
{
	int i = (int)(s->gpr[0] >> 56) - 1;
	struct expect *e;
	uint64_t v, mask = 0;
	struct { uint64_t sp; int flags; int pad; uint64_t size; } ss;
	int j, k;

	if (i < 0 || i >= NTHREADS)
		raw(SYS_exit_group, 99, 0, 0, 0);
	e = &expect[i];
	for (j = 0; j < NGPR - 1; j++)
		if (s->gpr[j] != e->gpr[j])
			failf(e, "general register", s->gpr[j], e->gpr[j]);
	/* The entry sequence saved everything 1024 bytes below the entry rsp. */
	if (e->rsp - 1024 != (uint64_t)s)
		failf(e, "rsp", (uint64_t)s + 1024, e->rsp);
	if ((s->flags & 0xcd5) != (e->flags & 0xcd5))
		failf(e, "eflags", s->flags, e->flags);
	for (j = 0; j < 16; j++)
		for (k = 0; k < (have_avx ? 4 : 2); k++)
			if (s->vec[j][k] != e->vec[j][k])
				failf(e, "vector register", s->vec[j][k], e->vec[j][k]);
	__asm__ volatile("rdfsbase %0" : "=r"(v));
	if (v != e->fs_base)
		failf(e, "fs_base", v, e->fs_base);
	raw(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&mask, 8);
	if (mask != e->sigmask)
		failf(e, "signal mask", mask, e->sigmask);
	raw(SYS_sigaltstack, 0, (long)&ss, 0, 0);
	if (ss.sp != e->ss_sp || ss.size != e->ss_size)
		failf(e, "sigaltstack", ss.sp, e->ss_sp);
	/* Thread 3's slot does not hold its dumped TID (a musl-style lock
	 * word): the stub must leave it alone. */
	if (i == 3 && e->tid_cache != 0xbad)
		failf(e, "foreign tid slot overwritten", e->tid_cache, 0xbad);
	if (i != 3 && e->tid_cache != (uint32_t)raw(SYS_gettid, 0, 0, 0, 0))
		failf(e, "cached tid", e->tid_cache, raw(SYS_gettid, 0, 0, 0, 0));
	if (i > 0 && e->rseq.cpu_id == (uint32_t)-1)
		failf(e, "rseq cpu_id not updated", e->rseq.cpu_id, 0);
	if (e->verdict == 0)
		e->verdict = 1;
	if (i > 0)
		for (;;)
			raw(SYS_exit, 0, 0, 0, 0); /* clear_child_tid wakes the main thread */
	main_continues();
}

static void usr2(int sig)
{
	(void)sig;
	usr2_seen = 1;
}

#define TEST_FILE "/tmp/stub-selftest-file"
#define REPORT_MIN 8 /* above fd 7, the one the plan reopens */
static uint64_t nofile_hard;
static uint64_t *plan_base;
static size_t plan_len;
static unsigned char *stub;
static size_t stub_len;
static uint64_t final_off, sig_off;
static unsigned char *ops_page; /* mapped and filled by the plan's memory steps */
static struct chkpt_plan_op *plan_ops;
static char *plan_strings;     /* cwd at +0, comm at +64, fd 7's path at +128 */

static void main_continues(void)
{
	char line[512];
	int ok = 1, final_found = 0, i;
	FILE *maps;

	/* Restore this process's real stack pointer context is not needed: from
	 * here on main runs on the stack the plan gave it, with glibc's TLS. */
	for (i = 1; i < NTHREADS; i++) {
		while (expect[i].ctid != 0)
			syscall(SYS_futex, &expect[i].ctid, FUTEX_WAIT, expect[i].ctid, NULL, NULL, 0);
	}
	raise(SIGUSR2);
	/* SIGUSR2 is blocked in the main thread's restored mask: unblock to take it. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (!usr2_seen) {
		printf("FAIL: the signal action from the plan was not installed\n");
		ok = 0;
	}
	for (i = 0; i < NTHREADS; i++) {
		if (expect[i].verdict != 1) {
			if (expect[i].verdict)
				printf("FAIL: thread %d: %s: got %#llx, want %#llx\n", i, expect[i].what,
				       (unsigned long long)expect[i].got, (unsigned long long)expect[i].want);
			else
				printf("FAIL: thread %d: never resumed\n", i);
			ok = 0;
		}
	}
	{
		struct rlimit rl;
		char buf[8] = { 0 }, cwd[64] = { 0 }, comm[32] = { 0 };
		mode_t old = umask(0);
		int fl = fcntl(7, F_GETFD);

		getrlimit(RLIMIT_CORE, &rl);
		if (rl.rlim_cur != 4096 || rl.rlim_max != 4096) {
			printf("FAIL: RLIMIT_CORE %lu/%lu, want 4096/4096\n", rl.rlim_cur, rl.rlim_max);
			ok = 0;
		}
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_max != nofile_hard) {
			printf("FAIL: RLIMIT_NOFILE hard limit raised to %lu from %lu\n", rl.rlim_max, (unsigned long)nofile_hard);
			ok = 0;
		}
		if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/tmp")) {
			printf("FAIL: cwd %s, want /tmp\n", cwd);
			ok = 0;
		}
		if (old != 027) {
			printf("FAIL: umask %o, want 027\n", old);
			ok = 0;
		}
		prctl(PR_GET_NAME, comm);
		if (strcmp(comm, "restored-proc")) {
			printf("FAIL: comm %s\n", comm);
			ok = 0;
		}
		if (fl != FD_CLOEXEC || read(7, buf, 3) != 3 || memcmp(buf, "567", 3)) {
			printf("FAIL: fd 7 not reopened at offset 5 with close-on-exec (flags %d, read %s)\n", fl, buf);
			ok = 0;
		}
		if (memcmp(ops_page, "0123456789", 10) != 0 || fcntl(9, F_GETFD) != -1) {
			printf("FAIL: memory steps: page not mapped and read from the file, or fd 9 not closed\n");
			ok = 0;
		}
		if (fcntl(5, F_GETFD) != -1) {
			printf("FAIL: fd 5 survived close_from=3\n");
			ok = 0;
		}
		for (i = 3; i < 64; i++)
			if (i != 7 && fcntl(i, F_GETFD) != -1) {
				printf("FAIL: fd %d open after the restore (the failure line's fd must be closed)\n", i);
				ok = 0;
			}
		unlink(TEST_FILE);
	}
	maps = fopen("/proc/self/maps", "r");
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long lo = strtoul(line, NULL, 16);
		if (lo == (unsigned long)stub || lo == (unsigned long)plan_base) {
			printf("FAIL: stub body or plan still mapped: %s", line);
			ok = 0;
		}
		if (lo == (unsigned long)stub + final_off)
			final_found = 1;
	}
	if (!final_found) {
		printf("FAIL: the final page is not mapped\n");
		ok = 0;
	} else if (strcmp((char *)stub + sig_off, "binfmt_chkpt restorer final page v1") != 0) {
		printf("FAIL: the final page has no signature\n");
		ok = 0;
	}
	printf("%s: %d threads resumed with registers, vectors, fs_base, masks, altstacks, rseq and tids; rlimits, cwd, umask, comm and fds restored\n",
	       ok ? "PASS" : "FAIL", NTHREADS);
	fflush(stdout);
	_exit(ok ? 0 : 1);
}

static uint64_t stub_entry;

/* Enters the stub with every signal blocked and a stack in the plan area. */
static void __attribute__((noreturn)) enter_stub(struct chkpt_plan *plan)
{
	uint64_t temp_stack = (uint64_t)plan_base + plan_len - 64;
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	__asm__ volatile("mov rsp, %0\n jmp %1\n" : : "r"(temp_stack), "r"(stub_entry), "D"(plan) : "memory");
	__builtin_unreachable();
}

#define FIFO_PATH "/tmp/stub-selftest-fifo"
#define NOT_CANONICAL (1ULL << 63)

/* One step made to fail, and the line the stub must print for it. */
struct failing {
	const char *step, *detail, *err;
	void (*spoil)(struct chkpt_plan *plan);
};

static void bad_magic(struct chkpt_plan *p) { p->magic = 0; }
static void region_on_mapped(struct chkpt_plan *p) { (void)p; plan_ops[0].addr = (uint64_t)plan_base; }
static void pread_closed_fd(struct chkpt_plan *p) { (void)p; plan_ops[1].fd = 99; }
static void close_closed_fd(struct chkpt_plan *p) { (void)p; plan_ops[2].fd = 98; }
static void unmap_unaligned(struct chkpt_plan *p) { (void)p; plan_ops[2] = (struct chkpt_plan_op){ CHKPT_OP_MUNMAP, 1, 4096, 0, 0, ~0ULL, 0 }; }
static void stub_unaligned(struct chkpt_plan *p) { p->stub_start += 1; }
static void protect_unaligned(struct chkpt_plan *p) { (void)p; plan_ops[2] = (struct chkpt_plan_op){ CHKPT_OP_MPROTECT, 1, 4096, 1, 0, ~0ULL, 0 }; }
static void cwd_missing(struct chkpt_plan *p) { (void)p; strcpy(plan_strings, "/nonexistent-stub-selftest"); }
static void fd_missing(struct chkpt_plan *p) { (void)p; strcpy(plan_strings + 128, "/nonexistent-stub-selftest"); }
static void fd_unseekable(struct chkpt_plan *p)
{
	struct chkpt_plan_fd *f = (struct chkpt_plan_fd *)((char *)p + p->fds_offset);

	strcpy(plan_strings + 128, FIFO_PATH);
	f->flags = O_RDWR | O_CLOEXEC; /* a FIFO opened read-write does not wait for a writer */
}
static void vdso_twice(struct chkpt_plan *p) { p->vdso_base = 0x10000; } /* this process has its vdso */
static void fs_not_canonical(struct chkpt_plan *p) { p->threads[0].regs[R_FS_BASE] = NOT_CANONICAL; }
static void robust_len_wrong(struct chkpt_plan *p) { p->threads[0].robust_head = 0x1000; p->threads[0].robust_len = 1; }
static void clone_tls_not_canonical(struct chkpt_plan *p) { p->threads[1].regs[R_FS_BASE] = NOT_CANONICAL; }
static void gs_not_canonical(struct chkpt_plan *p) { p->threads[2].regs[R_GS_BASE] = NOT_CANONICAL; }
static void rseq_len_wrong(struct chkpt_plan *p) { p->threads[3].rseq_len = 31; }
/* The signal and timer records go 4 KiB into the strings area. */
static void *extra_record(struct chkpt_plan *p, unsigned long long *offset)
{
	char *at = plan_strings + 4096;

	*offset = at - (char *)p;
	return at;
}
static void signal_invalid(struct chkpt_plan *p)
{
	struct chkpt_plan_signal *s = extra_record(p, &p->signals_offset);

	*s = (struct chkpt_plan_signal){ 65, CHKPT_SIGNAL_PROCESS, { 65 } };
	p->nr_signals = 1;
}
static void timer_clock_invalid(struct chkpt_plan *p)
{
	struct chkpt_plan_timer *t = extra_record(p, &p->timers_offset);

	*t = (struct chkpt_plan_timer){ CHKPT_TIMER_POSIX, 5, 99, 1, 0, 0, 0, 0, 1000000000 };
	p->nr_timers = 1;
}
static void itimer_invalid(struct chkpt_plan *p)
{
	struct chkpt_plan_timer *t = extra_record(p, &p->timers_offset);

	*t = (struct chkpt_plan_timer){ 7, 0, 0, 0, 0, 0, 0, 0, 1000000000 };
	p->nr_timers = 1;
}
static void membarrier_unknown(struct chkpt_plan *p) { p->membarrier = 1 << 12; }
static void lock_closed_fd(struct chkpt_plan *p)
{
	struct chkpt_plan_lock *l = extra_record(p, &p->locks_offset);

	*l = (struct chkpt_plan_lock){ 98, CHKPT_LOCK_POSIX, 1, 0, 0 };
	p->nr_locks = 1;
}

/*
 * Runs the plan, spoiled by each case, in a child whose stderr is a pipe:
 * exactly the expected line, then death by SIGSEGV. Returns 0 on a failure.
 */
static int failing_steps(struct chkpt_plan *plan)
{
	char at_region[32], at_pages[32], line[512], want[512];
	struct failing cases[] = {
		{ "plan-invalid", NULL, "errno 22 (EINVAL)", bad_magic },
		{ "map-region", at_region, "errno 17 (EEXIST)", region_on_mapped },
		{ "copy-pages", at_pages, "errno 9 (EBADF)", pread_closed_fd },
		{ "close-fd", "fd 98", "errno 9 (EBADF)", close_closed_fd },
		{ "unmap", "at 0x1", "errno 22 (EINVAL)", unmap_unaligned },
		{ "protect-region", "at 0x1", "errno 22 (EINVAL)", protect_unaligned },
		{ "protect-stub", NULL, "errno 22 (EINVAL)", stub_unaligned },
		{ "chdir", NULL, "errno 2 (ENOENT)", cwd_missing },
		{ "reopen-fd", "fd 7", "errno 2 (ENOENT)", fd_missing },
		{ "seek-fd", "fd 7", "errno 29 (ESPIPE)", fd_unseekable },
		{ "map-vdso", NULL, "errno 17 (EEXIST)", vdso_twice },
		{ "set-fs-base", "thread 0", "errno 1 (EPERM)", fs_not_canonical },
		{ "robust-list", "thread 0", "errno 22 (EINVAL)", robust_len_wrong },
		{ "clone-thread", "thread 1", "errno 1 (EPERM)", clone_tls_not_canonical },
		{ "set-gs-base", "thread 2", "errno 1 (EPERM)", gs_not_canonical }, /* in a spawned thread */
		{ "rseq", "thread 3", "errno 22 (EINVAL)", rseq_len_wrong },
		{ "queue-signal", "signal 65", "errno 22 (EINVAL)", signal_invalid },
		{ "create-timer", "timer 5", "errno 22 (EINVAL)", timer_clock_invalid },
		{ "set-timer", "timer 7", "errno 22 (EINVAL)", itimer_invalid },
		{ "membarrier", "command 4096", "errno 22 (EINVAL)", membarrier_unknown },
		{ "take-lock", "fd 98", "errno 9 (EBADF)", lock_closed_fd },
	};
	unsigned i;
	int ok = 1;

	snprintf(at_region, sizeof(at_region), "at %#llx", (unsigned long long)plan_base);
	snprintf(at_pages, sizeof(at_pages), "at %#llx", (unsigned long long)ops_page);
	unlink(FIFO_PATH);
	if (mkfifo(FIFO_PATH, 0600) != 0) {
		perror(FIFO_PATH);
		return 0;
	}
	fflush(stdout);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct failing *c = &cases[i];
		int pipefd[2], status;
		ssize_t n, got = 0;
		pid_t pid;

		snprintf(want, sizeof(want), "stub-selftest: restore failed after the point of no return: %s%s%s: %s\n",
			 c->step, c->detail ? " " : "", c->detail ? c->detail : "", c->err);
		if (pipe(pipefd) != 0 || (pid = fork()) < 0) {
			perror("pipe/fork");
			return 0;
		}
		if (pid == 0) {
			struct rlimit none = { 0, 0 };

			/* No core file from the expected crash. */
			setrlimit(RLIMIT_CORE, &none);
			plan->rlimits[RLIMIT_CORE].cur = plan->rlimits[RLIMIT_CORE].max = 0;
			close(pipefd[0]);
			dup2(pipefd[1], 2);
			close(pipefd[1]);
			c->spoil(plan);
			enter_stub(plan);
		}
		close(pipefd[1]);
		while (got < (ssize_t)sizeof(line) - 1 && (n = read(pipefd[0], line + got, sizeof(line) - 1 - got)) > 0)
			got += n;
		line[got] = 0;
		close(pipefd[0]);
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			return 0;
		}
		if (strcmp(line, want) != 0) {
			printf("FAIL: failing %s: stderr was \"%s\", want \"%.*s\"\n", c->step, line, (int)strlen(want) - 1, want);
			ok = 0;
		}
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV) {
			printf("FAIL: failing %s: wait status %#x, want death by SIGSEGV\n", c->step, status);
			ok = 0;
		}
	}
	unlink(FIFO_PATH);
	if (ok)
		printf("PASS: %u failing steps each named on stderr in one line, then SIGSEGV\n", i);
	fflush(stdout);
	return ok;
}

static uint64_t sym(const char *syms, const char *name)
{
	char n[64];
	unsigned long long v;
	FILE *f = fopen(syms, "r");

	if (!f) {
		perror(syms);
		exit(2);
	}
	while (fscanf(f, "%63s %llx", n, &v) == 2)
		if (!strcmp(n, name)) {
			fclose(f);
			return v;
		}
	fprintf(stderr, "%s: no symbol %s\n", syms, name);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int a, b, c, d;
	size_t xsave_len, off;
	struct chkpt_plan *plan;
	unsigned char *xbuf;
	char syms[4096];
	uint64_t xcr0, tid_addr = 0, entry;
	int fd, i, j;

	if (argc != 2) {
		fprintf(stderr, "usage: stub-selftest STUB.BIN\n");
		return 2;
	}
	snprintf(syms, sizeof(syms), "%.*s.syms", (int)(strlen(argv[1]) - 4), argv[1]);
	entry = sym(syms, "chkpt_stub_entry");
	final_off = sym(syms, "chkpt_final_page");
	sig_off = sym(syms, "chkpt_final_signature");

	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	stub_len = lseek(fd, 0, SEEK_END);

	__cpuid_count(1, 0, a, b, c, d);
	if (!(c & (1u << 27))) {
		printf("SKIP: no OSXSAVE\n");
		return 77;
	}
	__asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	xcr0 = ((uint64_t)d << 32) | a;
	have_avx = (xcr0 & 6) == 6;
	__cpuid_count(0xd, 0, a, b, c, d);
	xsave_len = b;

	plan_len = (sizeof(struct chkpt_plan) + NTHREADS * sizeof(struct chkpt_plan_thread) + 4096 +
		    NTHREADS * (xsave_len + 64) + 65536 + 4095) & ~4095UL;
	/* The layout a restorer uses: [plan][stub body][final page]. */
	plan_base = mmap(NULL, plan_len + stub_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stub = mmap((char *)plan_base + plan_len, stub_len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (plan_base == MAP_FAILED || stub == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	plan = (struct chkpt_plan *)plan_base;
	plan->magic = CHKPT_PLAN_MAGIC;
	plan->nr_threads = NTHREADS;
	plan->vdso_base = 0; /* this process keeps its vdso */
	plan->unmap_start = (uint64_t)plan_base;
	plan->unmap_len = plan_len + final_off;
	plan->stub_start = (uint64_t)stub;
	plan->stub_len = stub_len;

	/* Process-wide state: every resource limit as it is, except a lower
	 * RLIMIT_CORE and an attempt to raise RLIMIT_NOFILE's hard limit (which
	 * must stay put); a new cwd, umask and name; and one file to reopen. */
	for (i = 0; i < CHKPT_NRLIMIT; i++)
		syscall(SYS_prlimit64, 0, i, NULL, &plan->rlimits[i]);
	plan->rlimits[RLIMIT_CORE].cur = plan->rlimits[RLIMIT_CORE].max = 4096;
	nofile_hard = plan->rlimits[RLIMIT_NOFILE].max;
	plan->rlimits[RLIMIT_NOFILE].max = nofile_hard * 2;
	{
		char *strings = (char *)plan_base + plan_len - 16384; /* below the temp stack's reach */
		struct chkpt_plan_fd *f = (struct chkpt_plan_fd *)(strings + 1024);
		int tfd = open(TEST_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);

		if (tfd < 0 || write(tfd, "0123456789", 10) != 10) {
			perror(TEST_FILE);
			return 2;
		}
		close(tfd);
		plan_strings = strings;
		strcpy(strings, "/tmp");
		strcpy(strings + 64, "restored-proc");
		strcpy(strings + 128, TEST_FILE);
		plan->cwd_offset = strings - (char *)plan_base;
		plan->comm_offset = strings + 64 - (char *)plan_base;
		plan->umask = 027;
		plan->personality = CHKPT_KEEP;
		f->fd = 7;
		f->flags = O_RDONLY | O_CLOEXEC;
		f->offset = 5;
		f->path_offset = strings + 128 - (char *)plan_base;
		plan->fds_offset = (char *)f - (char *)plan_base;
		plan->nr_fds = 1;
		plan->close_from = 3;

		/* Memory steps as the userspace restorer uses them: map a page
		 * where a free one was, fill it from a file, close the file. */
		struct chkpt_plan_op *op = (struct chkpt_plan_op *)(strings + 2048);
		ops_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(ops_page, 4096);
		if (dup2(open(TEST_FILE, O_RDONLY), 9) != 9) {
			perror(TEST_FILE);
			return 2;
		}
		op[0] = (struct chkpt_plan_op){ CHKPT_OP_MMAP, (uint64_t)ops_page, 4096, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, ~0ULL, 0 };
		op[1] = (struct chkpt_plan_op){ CHKPT_OP_PREAD, (uint64_t)ops_page, 10, 0, 0, 9, 0 };
		op[2] = (struct chkpt_plan_op){ CHKPT_OP_CLOSE, 0, 0, 0, 0, 9, 0 };
		plan->ops_offset = (char *)op - (char *)plan_base;
		plan->nr_ops = 3;
		plan_ops = op;
		strcpy(strings + 512, "stub-selftest: ");
		plan->report_prefix_offset = strings + 512 - (char *)plan_base;
		plan->report_fd = 2;
		plan->report_min = REPORT_MIN;
	}

	/* Signal actions: this process's own, plus a SIGUSR2 handler. */
	for (i = 1; i <= CHKPT_NSIG; i++) {
		if (i == 9 || i == 19)
			continue;
		syscall(SYS_rt_sigaction, i, NULL, &plan->sigactions[i - 1], 8);
	}
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = usr2;
		sigaction(SIGUSR2, &sa, NULL);
		syscall(SYS_rt_sigaction, SIGUSR2, NULL, &plan->sigactions[SIGUSR2 - 1], 8);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGUSR2, &sa, NULL); /* only the plan installs it */
	}

	prctl(PR_GET_TID_ADDRESS, &tid_addr);
	off = (sizeof(struct chkpt_plan) + NTHREADS * sizeof(struct chkpt_plan_thread) + 63) & ~63UL;
	for (i = 0; i < NTHREADS; i++) {
		struct chkpt_plan_thread *t = &plan->threads[i];
		struct expect *e = &expect[i];

		e->stack = aligned_alloc(4096, STACK_SIZE);
		e->rsp = (uint64_t)e->stack + STACK_SIZE - 512 - 8 * i; /* odd alignments too */
		for (j = 0; j < NGPR; j++)
			e->gpr[j] = ((uint64_t)(i + 1) << 56) | ((uint64_t)j << 48) | (0x1234567ULL * (j + 3));
		e->flags = 0x202 | (i & 1 ? 0x1 : 0x0) | (i & 2 ? 0x800 : 0x80);
		for (j = 0; j < 16; j++)
			for (int k = 0; k < 4; k++)
				e->vec[j][k] = 0xa5a5000000000000ULL ^ ((uint64_t)i << 40) ^ ((uint64_t)j << 20) ^ k;
		e->sigmask = (1ULL << (SIGUSR1 - 1)) << (i & 1) | (i == 0 ? 1ULL << (SIGUSR2 - 1) : 0);
		if (i == 2) {
			e->ss_sp = (uint64_t)e->altstack;
			e->ss_size = sizeof(e->altstack);
		}
		e->rseq.cpu_id = (uint32_t)-1;
		e->ctid = 1;

		t->regs[R_RAX] = e->gpr[0];
		t->regs[R_RBX] = e->gpr[1];
		t->regs[R_RCX] = e->gpr[2];
		t->regs[R_RDX] = e->gpr[3];
		t->regs[R_RSI] = e->gpr[4];
		t->regs[R_RDI] = e->gpr[5];
		t->regs[R_RBP] = e->gpr[6];
		t->regs[R_R8] = e->gpr[7];
		t->regs[R_R9] = e->gpr[8];
		t->regs[R_R10] = e->gpr[9];
		t->regs[R_R11] = e->gpr[10];
		t->regs[R_R12] = e->gpr[11];
		t->regs[R_R13] = e->gpr[12];
		t->regs[R_R14] = e->gpr[13];
		t->regs[R_R15] = e->gpr[14];
		e->gpr[15] = 0; /* slot unused: keep the table 16 wide */
		t->regs[R_RIP] = (uint64_t)resume_point;
		t->regs[R_RSP] = e->rsp;
		t->regs[R_EFLAGS] = e->flags;
		t->regs[R_CS] = 0x33;
		t->regs[R_SS] = 0x2b;
		t->sigmask = e->sigmask;
		t->ss_sp = e->ss_sp;
		t->ss_size = e->ss_size;
		t->ss_flags = e->ss_sp ? 0 : SS_DISABLE;
		t->tid_slot = (uint64_t)&e->tid_cache;
		e->tid_cache = i == 3 ? 0xbad : 5000 + i;
		t->tid_old = 5000 + i;
		if (i == 0) {
			__asm__ volatile("rdfsbase %0" : "=r"(e->fs_base));
			t->clear_child_tid = tid_addr; /* glibc's own, unchanged */
			e->ctid = 0;
		} else {
			e->fs_base = 0x10000000ULL * i; /* never dereferenced by resume_point */
			t->clear_child_tid = (uint64_t)&e->ctid;
			t->rseq_addr = (uint64_t)&e->rseq;
			t->rseq_len = 32;
			t->rseq_sig = 0x53053053;
		}
		t->regs[R_FS_BASE] = e->fs_base;

		/* An XSAVE image holding this thread's vector values. */
		off = (off + 63) & ~63UL;
		xbuf = (unsigned char *)plan + off;
		__asm__ volatile("xsave [%0]" : : "r"(xbuf), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)) : "memory");
		for (j = 0; j < 16; j++) {
			memcpy(xbuf + 160 + 16 * j, &e->vec[j][0], 16);       /* xmm in the legacy area */
			if (have_avx)
				memcpy(xbuf + 576 + 16 * j, &e->vec[j][2], 16); /* upper ymm halves */
		}
		*(uint64_t *)(xbuf + 512) |= have_avx ? 7 : 3;          /* xstate_bv: x87, SSE, AVX */
		t->xsave_offset = off;
		t->xsave_len = xsave_len;
		t->xfeatures = xcr0;
		off += xsave_len;
	}
	if (!have_avx)
		for (i = 0; i < NTHREADS; i++)
			for (j = 0; j < 16; j++)
				expect[i].vec[j][2] = expect[i].vec[j][3] = 0;

	stub_entry = (uint64_t)stub + entry;
	if (!failing_steps(plan))
		return 1;

	dup2(1, 5); /* a stray descriptor that close_from must close */
	enter_stub(plan);
}
