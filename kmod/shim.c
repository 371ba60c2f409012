// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of binfmt_chkpt: everything that needs to see inside
 * `struct linux_binprm` and `struct linux_binfmt`, which 6.12's Rust bindings
 * only know as opaque types. It holds no logic: each function here is a thin
 * accessor called from glue.rs, and the load_binary callback hands the bprm
 * straight to Rust (chkpt_rust_load_binary).
 */
#include <linux/binfmts.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>

#include "shim.h"

/* Admins can switch restore off at run time: echo 0 > /sys/module/binfmt_chkpt/parameters/enabled */
static bool enabled = true;
module_param(enabled, bool, 0644);
MODULE_PARM_DESC(enabled, "Restore checkpoint images on execve (1, default) or treat them as unknown (0: ENOEXEC)");

static int chkpt_load_binary(struct linux_binprm *bprm)
{
	return chkpt_rust_load_binary(bprm, bprm->buf, BINPRM_BUF_SIZE);
}

static struct linux_binfmt chkpt_format = {
	.module = THIS_MODULE,
	.load_binary = chkpt_load_binary,
};

void chkpt_shim_register(void)
{
	register_binfmt(&chkpt_format);
}

void chkpt_shim_unregister(void)
{
	unregister_binfmt(&chkpt_format);
}

bool chkpt_shim_enabled(void)
{
	return READ_ONCE(enabled);
}

/* Size of the file being executed, or a negative errno. */
long long chkpt_shim_file_size(struct linux_binprm *bprm)
{
	return i_size_read(file_inode(bprm->file));
}

/* kernel_read at an absolute offset; returns bytes read or a negative errno. */
long chkpt_shim_read(struct linux_binprm *bprm, long long pos, u8 *buf, size_t len)
{
	loff_t off = pos;

	return kernel_read(bprm->file, buf, len, &off);
}

/* One rate-limited line per refused image, naming the validator's reason. */
void chkpt_shim_log_refusal(struct linux_binprm *bprm, const char *reason, size_t reason_len, int err)
{
	pr_notice_ratelimited("binfmt_chkpt: %s: not restored: %.*s (errno %d)\n",
			      bprm->filename, (int)reason_len, reason, -err);
}
