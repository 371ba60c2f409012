// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: loading it prints one kernel WARNING, so that a guest
 * scenario can prove the harness fails a run whose log has a warning. It is
 * built only for the test guest, never shipped with binfmt_chkpt.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init warn_selftest_init(void)
{
	WARN(1, "warn_selftest: deliberate warning to test the harness's log check\n");
	return 0;
}

static void __exit warn_selftest_exit(void)
{
}

module_init(warn_selftest_init);
module_exit(warn_selftest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Deliberate WARN for the binfmt_chkpt harness self-test");
