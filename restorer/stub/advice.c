/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-mapping state (plan.h struct chkpt_plan_advice): what madvise(2) and
 * mlock(2) had set on a region at dump, set again once every region is
 * mapped (deferred ones too: a mapping made over a region later would not
 * carry it) and before a tree forks its children (which must not get
 * MADV_DONTFORK memory).
 */
#include "plan.h"
#include "syscall.h"

#define SYS_madvise 28
#define SYS_mlock 149

#define MADV_RANDOM 1
#define MADV_SEQUENTIAL 2
#define MADV_DONTFORK 10
#define MADV_HUGEPAGE 14
#define MADV_NOHUGEPAGE 15
#define MADV_DONTDUMP 16
#define MADV_WIPEONFORK 18

#define EINVAL 22

void __attribute__((noreturn)) chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err);

static const struct {
	u64 bit, advice;
} advices[] = {
	{ CHKPT_ADVISE_DONTFORK, MADV_DONTFORK },
	{ CHKPT_ADVISE_WIPEONFORK, MADV_WIPEONFORK },
	{ CHKPT_ADVISE_DONTDUMP, MADV_DONTDUMP },
	{ CHKPT_ADVISE_HUGEPAGE, MADV_HUGEPAGE },
	{ CHKPT_ADVISE_NOHUGEPAGE, MADV_NOHUGEPAGE },
	{ CHKPT_ADVISE_SEQUENTIAL, MADV_SEQUENTIAL },
	{ CHKPT_ADVISE_RANDOM, MADV_RANDOM },
};

void chkpt_advise_regions(struct chkpt_plan *plan)
{
	const struct chkpt_plan_advice *a =
		(const struct chkpt_plan_advice *)((const char *)plan + plan->advice_offset);
	u64 i, k;
	long ret;

	for (i = 0; i < plan->nr_advice; i++) {
		for (k = 0; k < sizeof(advices) / sizeof(advices[0]); k++) {
			if (!(a[i].advice & advices[k].bit))
				continue;
			ret = sys3(SYS_madvise, a[i].addr, a[i].len, advices[k].advice);
			/* Only a hint: this kernel has no transparent huge pages. */
			if (ret == -EINVAL && (advices[k].bit & (CHKPT_ADVISE_HUGEPAGE | CHKPT_ADVISE_NOHUGEPAGE)))
				ret = 0;
			if (ret < 0)
				chkpt_fail(plan, CHKPT_STEP_MADVISE, a[i].addr, ret);
		}
		if (a[i].advice & CHKPT_ADVISE_LOCK) {
			ret = sys2(SYS_mlock, a[i].addr, a[i].len);
			if (ret < 0)
				chkpt_fail(plan, CHKPT_STEP_MLOCK, a[i].addr, ret);
		}
	}
}
