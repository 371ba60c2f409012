/* membar [--wait-at 1]: membarrier(2) registrations across a checkpoint.
 * Registers PRIVATE_EXPEDITED and PRIVATE_EXPEDITED_SYNC_CORE, and
 * PRIVATE_EXPEDITED_RSEQ where the kernel has rseq; after wait point 1
 * (dumped there) the registrations (MEMBARRIER_CMD_GET_REGISTRATIONS,
 * Linux 6.3+) are the same and the expedited commands succeed, which they
 * do not (EPERM) in a process that never registered. Prints
 * "registrations 0x..", one line per command and "result OK"; exits 1
 * with a FAIL line when any is off. */
#include "common.h"
#include <linux/membarrier.h>

/* MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3), which older headers lack. */
#define CMD_GET_REGISTRATIONS (1 << 9)

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static void fail(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int want = MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;

	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0 || errno != EPERM)
		fail("PRIVATE_EXPEDITED before registering does not fail with EPERM");
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) || membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE))
		fail("registering");
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) == 0)
		want |= MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ;
	printf("ready\n");

	wait_point(1);

	long got = membarrier(CMD_GET_REGISTRATIONS);
	printf("registrations %s\n", got == want ? "same" : "DIFFERENT");
	if (got != want) {
		printf("got %#lx, want %#x\n", got, want);
		fail("registrations");
	}
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		fail("PRIVATE_EXPEDITED");
	printf("private expedited ok\n");
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE))
		fail("PRIVATE_EXPEDITED_SYNC_CORE");
	printf("sync core ok\n");
	if ((want & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0))
		fail("PRIVATE_EXPEDITED_RSEQ");
	printf("result OK\n");
	return 0;
}
