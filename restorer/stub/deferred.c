/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deferred regions (plan.h struct chkpt_plan_deferred): memory that maps
 * an object the stub itself creates, a memfd or deleted file the process
 * holds as an fd too, or a tree's shared memory where the restorer maps
 * memory before the stub runs (the kernel module). The restorer left each
 * one reserved; once the fds and tree objects exist, the region's stored
 * pages (if any) go into the object and the object is mapped over the
 * reservation, so the mapping and the fd are one object again.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_mmap 9
#define SYS_pwrite64 18

void __attribute__((noreturn)) chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err);

void chkpt_map_deferred(struct chkpt_plan *plan)
{
	const struct chkpt_plan_deferred *d =
		(const struct chkpt_plan_deferred *)((const char *)plan + plan->deferred_offset);
	u64 i;
	long ret;

	for (i = 0; i < plan->nr_deferred; i++) {
		u64 done = 0;

		/* The reservation holds the pages (readable): into the object
		 * first, where every process that maps it sees them. */
		while (d[i].pages && done < d[i].len) {
			ret = sys4(SYS_pwrite64, d[i].fd, d[i].addr + done, d[i].len - done, d[i].offset + done);
			if (ret <= 0)
				chkpt_fail(plan, CHKPT_STEP_DEFERRED_PAGES, d[i].addr, ret ? ret : -5 /* EIO */);
			done += (u64)ret;
		}
		ret = sys6(SYS_mmap, d[i].addr, d[i].len, d[i].prot, d[i].flags, d[i].fd, d[i].offset);
		if (ret >= 0 && (u64)ret != d[i].addr)
			ret = -17; /* EEXIST: not where the image needs it */
		if (ret < 0)
			chkpt_fail(plan, CHKPT_STEP_MAP_DEFERRED, d[i].addr, ret);
	}
}
