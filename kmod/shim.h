/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between shim.c and glue.rs. Rust declares the same functions
 * in glue.rs's `extern "C"` block, with the bindings' own opaque types for
 * `struct linux_binprm` and `struct file`; keep the two in step. The
 * structs below are mirrored in glue.rs, and both sides assert the same
 * sizes and offsets at build time.
 */
#ifndef BINFMT_CHKPT_SHIM_H
#define BINFMT_CHKPT_SHIM_H

#include <linux/stddef.h>
#include <linux/types.h>
#include <linux/auxvec.h>
#include <asm/auxvec.h>

/* Room for the image's auxv words; the kernel keeps at most AT_VECTOR_SIZE. */
#define CHKPT_AUXV_WORDS 64

struct linux_binprm;
struct file;

struct chkpt_file_identity {
	u64 dev;        /* as stat(2) reports st_dev */
	u64 ino;
	u64 size;
	s64 mtime_sec;
	u64 mtime_nsec;
	u32 mode;
	u32 noexec;     /* on a noexec mount */
	u64 rdev;       /* a device's, as stat(2) reports st_rdev */
};

struct chkpt_mm_layout {
	u64 start_code, end_code, start_data, end_data;
	u64 start_brk, brk, start_stack;
	u64 arg_start, arg_end, env_start, env_end;
	u64 auxv[CHKPT_AUXV_WORDS];
	u64 auxv_len; /* entries used in auxv */
};

/* The same numbers are asserted in glue.rs (static_assert!). */
_Static_assert(sizeof(struct chkpt_file_identity) == 56, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, dev) == 0, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, ino) == 8, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, size) == 16, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, mtime_sec) == 24, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, mtime_nsec) == 32, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, mode) == 40, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, noexec) == 44, "glue.rs FileIdentity");
_Static_assert(offsetof(struct chkpt_file_identity, rdev) == 48, "glue.rs FileIdentity");
_Static_assert(CHKPT_AUXV_WORDS == 64, "glue.rs AUXV_WORDS");
_Static_assert(sizeof(struct chkpt_mm_layout) == 608, "glue.rs MmFields");
/* glue.rs's `layout: [u64; 11]`, in MmLayout::to_array order. */
_Static_assert(offsetof(struct chkpt_mm_layout, start_code) == 0, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, end_code) == 8, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, start_data) == 16, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, end_data) == 24, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, start_brk) == 32, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, brk) == 40, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, start_stack) == 48, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, arg_start) == 56, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, arg_end) == 64, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, env_start) == 72, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, env_end) == 80, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, auxv) == 88, "glue.rs MmFields");
_Static_assert(offsetof(struct chkpt_mm_layout, auxv_len) == 600, "glue.rs MmFields");

/* Implemented in Rust (glue.rs). */
int chkpt_rust_load_binary(struct linux_binprm *bprm, const u8 *head, size_t head_len);

/* Implemented in shim.c, called from Rust. */
void chkpt_shim_register(void);
void chkpt_shim_unregister(void);
bool chkpt_shim_enabled(void);
bool chkpt_shim_yield(void);
long long chkpt_shim_file_size(struct linux_binprm *bprm);
long chkpt_shim_read(struct linux_binprm *bprm, long long pos, u8 *buf, size_t len);
void chkpt_shim_log_refusal(struct linux_binprm *bprm, const char *reason, size_t reason_len, int err);
void chkpt_shim_log_failure(struct linux_binprm *bprm, const char *step, size_t step_len, int err);

/* Before the point of no return: checks only. */
int chkpt_shim_check_no_privilege(struct linux_binprm *bprm);
bool chkpt_shim_exec_mappable(struct linux_binprm *bprm);
int chkpt_shim_cwd_check(const char *path, size_t len);
struct file *chkpt_shim_open(const char *path, size_t len, int flags, long *err);
void chkpt_shim_close(struct file *f);
long chkpt_shim_identity(struct file *f, struct chkpt_file_identity *id);
struct file *chkpt_shim_exec_file(struct linux_binprm *bprm);
long chkpt_shim_caller_vdso(const u8 **data, u64 *vdso_len, u64 *vvar_len);
void chkpt_shim_cpu_xstate(u64 *xcr0, u32 *xsave_size);
u64 chkpt_shim_rlimit_as(void);
u64 chkpt_shim_rlimit_nproc(void);
u64 chkpt_shim_rlimit_sigpending(void);
u64 chkpt_shim_memlock_allowance(void);
bool chkpt_shim_may_set_creds(void);
u64 chkpt_shim_max_map_count(void);
u64 chkpt_shim_task_size(void);
u64 chkpt_shim_pipe_max_size(void);
bool chkpt_shim_capable(int cap);
int chkpt_shim_socket_probe(int family, int type, int protocol, u32 flags, const void *addr, size_t len, bool connect, bool repair);

/* The point of no return, and what follows it. */
int chkpt_shim_commit(struct linux_binprm *bprm);
int chkpt_shim_drop_arg_stack(struct linux_binprm *bprm);
unsigned long chkpt_shim_mmap(struct file *f, unsigned long addr, unsigned long len,
			      unsigned long prot, unsigned long flags, unsigned long off);
void chkpt_shim_set_mm_layout(const struct chkpt_mm_layout *l);
void chkpt_shim_start(struct linux_binprm *bprm, unsigned long ip, unsigned long sp, unsigned long plan);

/* Process trees (issue 15). */
int chkpt_shim_argc(struct linux_binprm *bprm);
long chkpt_shim_read_args(struct linux_binprm *bprm, u8 *buf, size_t len);
u64 chkpt_shim_rlimit_nofile(void);
long chkpt_shim_fd_mode(unsigned int fd, u32 *mode);
long chkpt_shim_fd_stat(unsigned int fd, u32 *mode, u64 *size);
void chkpt_shim_pid_facts(bool *child_namespace, bool *may_set_pids);
bool chkpt_shim_pid_free(u32 nr);
u32 chkpt_shim_own_pid(void);
int chkpt_shim_install_image_path(struct linux_binprm *bprm);

#endif
