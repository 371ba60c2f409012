/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image's credentials (plan.h struct chkpt_plan_creds), taken on by
 * the first thread before it clones the others (credentials belong to a
 * thread; clones inherit the cloner's), after every file, socket and tree
 * object was made with the caller's. The restorer asked for this only
 * where the caller is root in the initial user namespace, who may set any
 * of them; nothing here can grant what the caller had not.
 *
 * Order: the bounding set first (dropping needs CAP_SETPCAP in the
 * effective set, which a change of uid away from 0 clears), then groups,
 * gids and uids (the permitted set kept across the uid change with
 * PR_SET_KEEPCAPS), then the three capability sets with capset, then the
 * ambient ones. Each set is the image's within what the caller has (its
 * permitted set here may lack a capability the dumping machine's root
 * had): never more, and capset never refused for it. A change of uid or gid makes the process not dumpable and
 * clears its parent-death signal: dumpable is set again here, and the
 * prctl attributes that come later set both as the image says.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_capget 125
#define SYS_capset 126
#define SYS_setresuid 117
#define SYS_setresgid 119
#define SYS_setfsuid 122
#define SYS_setfsgid 123
#define SYS_setgroups 116
#define SYS_prctl 157

#define PR_SET_DUMPABLE 4
#define PR_SET_KEEPCAPS 8
#define PR_CAPBSET_READ 23
#define PR_CAPBSET_DROP 24
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4

#define EPERM 1
#define EINVAL 22
#define CAPSET_ALL 64 /* the detail of a failed capset */

void __attribute__((noreturn)) chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err);

static void must(struct chkpt_plan *plan, long ret, u64 step, u64 detail)
{
	if (ret < 0)
		chkpt_fail(plan, step, detail, ret);
}

void chkpt_set_creds(struct chkpt_plan *plan)
{
	struct chkpt_plan_creds *c;
	struct {
		unsigned int version;
		int pid;
	} head = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct {
		unsigned int effective, permitted, inheritable;
	} sets[2];
	u64 cap, have, permitted, inheritable, effective, ambient, bounding = 0;
	long ret;

	if (!plan->creds_offset)
		return;
	c = (struct chkpt_plan_creds *)((char *)plan + plan->creds_offset);
	/* The bounding set: each capability the image's lacks is dropped (one
	 * already gone stays gone) up to this kernel's last (EINVAL beyond it).
	 * No call for the capabilities the image keeps: its set is usually
	 * full, and reading each first would cost one call per capability. */
	for (cap = 0; cap < 64; cap++) {
		if (c->cap_bounding & (1ULL << cap))
			continue;
		ret = sys6(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0, 0);
		if (ret == -EINVAL)
			break; /* beyond this kernel's last capability */
		must(plan, ret, CHKPT_STEP_SET_CAPABILITIES, cap);
	}
	must(plan, sys6(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0, 0), CHKPT_STEP_SET_CAPABILITIES, CAPSET_ALL);
	must(plan, sys2(SYS_setgroups, c->ngroups, (u64)c->groups), CHKPT_STEP_SET_GROUPS, c->ngroups);
	must(plan, sys3(SYS_setresgid, c->gid, c->egid, c->sgid), CHKPT_STEP_SET_GIDS, c->egid);
	/* setfsgid and setfsuid answer with the old id: asking again tells. */
	sys1(SYS_setfsgid, c->fsgid);
	if ((u64)sys1(SYS_setfsgid, ~0U) != c->fsgid)
		chkpt_fail(plan, CHKPT_STEP_SET_GIDS, c->fsgid, -EPERM);
	must(plan, sys3(SYS_setresuid, c->uid, c->euid, c->suid), CHKPT_STEP_SET_UIDS, c->euid);
	sys1(SYS_setfsuid, c->fsuid);
	if ((u64)sys1(SYS_setfsuid, ~0U) != c->fsuid)
		chkpt_fail(plan, CHKPT_STEP_SET_UIDS, c->fsuid, -EPERM);
	/* What the caller has (permitted, kept across the uid change). */
	must(plan, sys2(SYS_capget, (u64)&head, (u64)sets), CHKPT_STEP_SET_CAPABILITIES, CAPSET_ALL);
	have = sets[0].permitted | (u64)sets[1].permitted << 32;
	permitted = c->cap_permitted & have;
	effective = c->cap_effective & permitted;
	/* capset keeps inheritable within the old one and permitted (without
	 * CAP_SETPCAP, cleared from effective by the uid change) and within
	 * the old one and the bounding set. */
	inheritable = sets[0].inheritable | (u64)sets[1].inheritable << 32;
	/* The bounding set (the caller's and the image's, after the drops)
	 * matters only for inheritable capabilities the caller lacks: read
	 * for those alone (the bounding set is untouched by the uid change). */
	for (cap = 0; cap < 64; cap++)
		if ((c->cap_inheritable & ~inheritable & (1ULL << cap)) &&
		    sys6(SYS_prctl, PR_CAPBSET_READ, cap, 0, 0, 0, 0) == 1)
			bounding |= 1ULL << cap;
	inheritable = c->cap_inheritable & (inheritable | have) & (inheritable | bounding);
	ambient = c->cap_ambient & permitted & inheritable;
	head.version = 0x20080522;
	head.pid = 0;
	sets[0].effective = (unsigned int)effective;
	sets[0].permitted = (unsigned int)permitted;
	sets[0].inheritable = (unsigned int)inheritable;
	sets[1].effective = (unsigned int)(effective >> 32);
	sets[1].permitted = (unsigned int)(permitted >> 32);
	sets[1].inheritable = (unsigned int)(inheritable >> 32);
	must(plan, sys2(SYS_capset, (u64)&head, (u64)sets), CHKPT_STEP_SET_CAPABILITIES, CAPSET_ALL);
	must(plan, sys6(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0), CHKPT_STEP_SET_CAPABILITIES, CAPSET_ALL);
	for (cap = 0; cap < 64; cap++)
		if (ambient & (1ULL << cap))
			must(plan, sys6(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0, 0),
			     CHKPT_STEP_SET_CAPABILITIES, cap);
	must(plan, sys6(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0, 0), CHKPT_STEP_SET_CAPABILITIES, CAPSET_ALL);
	must(plan, sys6(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0, 0), CHKPT_STEP_SET_CAPABILITIES, CAPSET_ALL);
}
