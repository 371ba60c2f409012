/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between shim.c and glue.rs. Rust declares the same functions
 * in glue.rs's `extern "C"` block; keep the two in step.
 */
#ifndef BINFMT_CHKPT_SHIM_H
#define BINFMT_CHKPT_SHIM_H

#include <linux/types.h>

struct linux_binprm;

/* Implemented in Rust (glue.rs). */
int chkpt_rust_load_binary(struct linux_binprm *bprm, const u8 *head, size_t head_len);

/* Implemented in shim.c, called from Rust. */
void chkpt_shim_register(void);
void chkpt_shim_unregister(void);
bool chkpt_shim_enabled(void);
long long chkpt_shim_file_size(struct linux_binprm *bprm);
long chkpt_shim_read(struct linux_binprm *bprm, long long pos, u8 *buf, size_t len);
void chkpt_shim_log_refusal(struct linux_binprm *bprm, const char *reason, size_t reason_len, int err);

#endif
