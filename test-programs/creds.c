/* creds [--wait-at 1]: a process that dropped root comes back with the
 * credentials it dropped to. Run as root: drops CAP_SYS_MODULE from its
 * bounding set, takes supplementary groups 1000 and 1001, gids 1001/1002/
 * 1003 and uids 1004/1005/1006 (real/effective/saved), and keeps only
 * CAP_NET_BIND_SERVICE (effective, permitted, inheritable and ambient).
 * After wait point 1 (dumped there) it checks each, and that it is not
 * dumpable (as the uid change made it). Prints one line per check and
 * "result OK"; exits 1 with a FAIL line. */
#include "common.h"
#include <grp.h>
#include <sys/prctl.h>
#include <sys/fsuid.h>
#include <linux/capability.h>

#define BIND (1u << CAP_NET_BIND_SERVICE)

static void caps(unsigned int *eff, unsigned int *prm, unsigned int *inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		FAIL("capget: %s", strerror(errno));
	if (d[1].effective || d[1].permitted || d[1].inheritable)
		FAIL("capabilities above 31");
	*eff = d[0].effective, *prm = d[0].permitted, *inh = d[0].inheritable;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (getuid() != 0)
		FAIL("creds drops root: run it as root");
	gid_t groups[] = { 1000, 1001 };
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { BIND, BIND, BIND }, { 0, 0, 0 } };

	if (prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0) || prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ||
	    setgroups(2, groups) || setresgid(1001, 1002, 1003) || setresuid(1004, 1005, 1006) ||
	    syscall(SYS_capset, &h, d) || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) ||
	    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		FAIL("dropping root: %s", strerror(errno));
	printf("ready\n");
	wait_point(1);

	uid_t r, e, s;
	if (getresuid(&r, &e, &s) || r != 1004 || e != 1005 || s != 1006 || setfsuid(-1) != 1005)
		FAIL("uids %u/%u/%u fs %d", r, e, s, setfsuid(-1));
	printf("uids 1004/1005/1006, fs 1005\n");
	gid_t gr, ge, gs;
	if (getresgid(&gr, &ge, &gs) || gr != 1001 || ge != 1002 || gs != 1003 || setfsgid(-1) != 1002)
		FAIL("gids %u/%u/%u fs %d", gr, ge, gs, setfsgid(-1));
	printf("gids 1001/1002/1003, fs 1002\n");
	gid_t got[8];
	int n = getgroups(8, got);
	if (n != 2 || got[0] != 1000 || got[1] != 1001)
		FAIL("%d supplementary groups", n);
	printf("groups 1000 1001\n");
	unsigned int eff, prm, inh;
	caps(&eff, &prm, &inh);
	if (eff != BIND || prm != BIND || inh != BIND)
		FAIL("capabilities effective %#x permitted %#x inheritable %#x", eff, prm, inh);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 1 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) != 0)
		FAIL("ambient capabilities");
	printf("capabilities: CAP_NET_BIND_SERVICE only, ambient too\n");
	if (prctl(PR_CAPBSET_READ, CAP_SYS_MODULE, 0, 0, 0) != 0 || prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) != 1)
		FAIL("bounding set");
	printf("bounding set without CAP_SYS_MODULE\n");
	if (prctl(PR_GET_DUMPABLE) != 0)
		FAIL("dumpable");
	printf("not dumpable\n");
	printf("result OK\n");
	return 0;
}
