// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of binfmt_chkpt: everything that needs to see inside
 * `struct linux_binprm` and `struct linux_binfmt`, which 6.12's Rust bindings
 * only know as opaque types, and the kernel helpers that are inline
 * functions or macros Rust cannot call (cond_resched, fatal_signal_pending,
 * path_permission, rlimit, ...). Each function here is called from glue.rs
 * and does one kernel-facing step: an accessor, or a short sequence the
 * kernel's own code performs the same way (the commit, the caller's vdso,
 * the chdir check). Decisions about an image are made in Rust; the
 * load_binary callback hands the bprm straight to it (chkpt_rust_load_binary).
 */
#include <linux/binfmts.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/cred.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/ptrace.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/xattr.h>
#include <uapi/linux/capability.h>
#include <linux/sched/signal.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/nsproxy.h>
#include <asm/elf.h>
#include <asm/fpu/xcr.h>
#include <asm/processor.h>
#include <asm/vdso.h>

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

/*
 * The image decides how long the module's loops run: each step lets other
 * tasks run, and reports a pending fatal signal so that the loop stops,
 * as the exec code's own loops do (copy_strings, count_strings).
 */
bool chkpt_shim_yield(void)
{
	cond_resched();
	return fatal_signal_pending(current);
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

/* After the point of no return the task is killed; say which step failed. */
void chkpt_shim_log_failure(struct linux_binprm *bprm, const char *step, size_t step_len, int err)
{
	pr_notice_ratelimited("binfmt_chkpt: %s: restore failed after the point of no return, task killed: %.*s (errno %d)\n",
			      bprm->filename, (int)step_len, step, -err);
}

/* ------------------------------------------------------------------------
 * Restore. Everything above the point of no return only reads and checks;
 * chkpt_shim_commit() is the point of no return; after it, every failure
 * kills the task (the exec code sends SIGSEGV), as in binfmt_elf.
 * ------------------------------------------------------------------------ */

/*
 * 0 if running the image cannot change the caller's credentials; -EPERM if
 * the image file carries setuid or setgid bits or file capabilities.
 * The file's own bits are checked, not bprm->cred: since 5.9 the exec code
 * computes the file-based credentials only in begin_new_exec(), after
 * load_binary has decided, so at this point bprm->cred is still the
 * caller's. Restoring must never grant anything, so such an image is refused
 * whoever owns it.
 */
int chkpt_shim_check_no_privilege(struct linux_binprm *bprm)
{
	struct file *file = bprm->file;
	umode_t mode = file_inode(file)->i_mode;

	if (mode & S_ISUID)
		return -EPERM;
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		return -EPERM;
	if (vfs_getxattr(file_mnt_idmap(file), file->f_path.dentry, XATTR_NAME_CAPS, NULL, 0) > 0)
		return -EPERM;
	return 0;
}

/* binfmt_elf's check: stored pages are mapped from the image itself. */
bool chkpt_shim_exec_mappable(struct linux_binprm *bprm)
{
	return bprm->file->f_op->mmap != NULL;
}

/*
 * What chdir(2) checks, with the caller's credentials and cwd: the lookup
 * (following symlinks, a directory) and MAY_EXEC | MAY_CHDIR on the
 * result. Returns 0 or chdir's errno.
 */
int chkpt_shim_cwd_check(const char *path, size_t len)
{
	struct path p;
	int err;
	char *name = kmemdup_nul(path, len, GFP_KERNEL);

	if (!name)
		return -ENOMEM;
	err = kern_path(name, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &p);
	kfree(name);
	if (err)
		return err;
	err = path_permission(&p, MAY_EXEC | MAY_CHDIR);
	path_put(&p);
	return err;
}

/* Opens a file named by the image with the caller's credentials. */
struct file *chkpt_shim_open(const char *path, size_t len, int flags, long *err)
{
	struct file *f;
	char *name = kmemdup_nul(path, len, GFP_KERNEL);

	if (!name) {
		*err = -ENOMEM;
		return NULL;
	}
	f = filp_open(name, flags | O_LARGEFILE, 0);
	kfree(name);
	if (IS_ERR(f)) {
		*err = PTR_ERR(f);
		return NULL;
	}
	*err = 0;
	return f;
}

void chkpt_shim_close(struct file *f)
{
	fput(f);
}

long chkpt_shim_identity(struct file *f, struct chkpt_file_identity *id)
{
	struct kstat st;
	int err = vfs_getattr(&f->f_path, &st, STATX_BASIC_STATS, AT_STATX_SYNC_AS_STAT);

	if (err)
		return err;
	id->dev = new_encode_dev(st.dev);
	id->ino = st.ino;
	id->size = st.size;
	id->mtime_sec = st.mtime.tv_sec;
	id->mtime_nsec = st.mtime.tv_nsec;
	id->mode = st.mode;
	id->rdev = new_encode_dev(st.rdev);
	id->noexec = (f->f_path.mnt->mnt_flags & MNT_NOEXEC) ||
		     (f->f_path.mnt->mnt_sb->s_iflags & SB_I_NOEXEC);
	return 0;
}

struct file *chkpt_shim_exec_file(struct linux_binprm *bprm)
{
	return bprm->file;
}

/* The caller's vdso: its bytes as this kernel built them (the vdso_image's
 * data, static in the kernel image and read-only after boot: what the
 * caller's vdso mapping shows), its size, and the size of the vvar area
 * below it, so the image's layout and bytes can be compared before
 * committing. */
long chkpt_shim_caller_vdso(const u8 **data, u64 *vdso_len, u64 *vvar_len)
{
	const struct vdso_image *img = current->mm->context.vdso_image;

	if (!img || !img->data || !current->mm->context.vdso)
		return -ENOENT;
	*data = img->data;
	*vdso_len = img->size;
	*vvar_len = -img->sym_vvar_start;
	return 0;
}

/* XCR0 and the standard-format XSAVE size for it (CPUID 0xD.0:EBX): what a
 * thread of this kernel can load through rt_sigreturn. */
void chkpt_shim_cpu_xstate(u64 *xcr0, u32 *xsave_size)
{
	unsigned int eax, ebx, ecx, edx;

	if (!boot_cpu_has(X86_FEATURE_OSXSAVE)) {
		*xcr0 = 0;
		*xsave_size = 0;
		return;
	}
	*xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx);
	*xsave_size = ebx;
}

/* The caller's address-space limit (RLIMIT_AS soft limit). */
u64 chkpt_shim_rlimit_as(void)
{
	return rlimit(RLIMIT_AS);
}

/* The caller's RLIMIT_NPROC soft limit: clone() fails beyond it. */
u64 chkpt_shim_rlimit_nproc(void)
{
	return rlimit(RLIMIT_NPROC);
}

u64 chkpt_shim_rlimit_sigpending(void)
{
	return rlimit(RLIMIT_SIGPENDING);
}

/* Whether the caller may set any credentials (root in the initial user
 * namespace): what the stub's setresuid, setresgid, setgroups, bounding
 * set drops and capset need. */
bool chkpt_shim_may_set_creds(void)
{
	return capable(CAP_SETUID) && capable(CAP_SETGID) && capable(CAP_SETPCAP);
}

/* What mlock(2) would let the caller lock in a new mm (mm/mlock.c). */
u64 chkpt_shim_memlock_allowance(void)
{
	return capable(CAP_IPC_LOCK) ? U64_MAX : rlimit(RLIMIT_MEMLOCK);
}

/*
 * vm.max_map_count as a module can know it: sysctl_max_map_count is not
 * exported in 6.12, so the sysctl is read through procfs, as any process
 * reads it (the value is global, not per namespace). Where that fails (a
 * caller chrooted without /proc), the kernel's default.
 */
u64 chkpt_shim_max_map_count(void)
{
	char buf[24] = {};
	unsigned long val;
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open("/proc/sys/vm/max_map_count", O_RDONLY, 0);
	if (IS_ERR(f))
		return DEFAULT_MAX_MAP_COUNT;
	n = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	fput(f);
	if (n <= 0 || kstrtoul(strim(buf), 10, &val))
		return DEFAULT_MAX_MAP_COUNT;
	return val;
}

/*
 * fs.pipe-max-size, read through procfs as max_map_count is (pipe_max_size
 * is not exported); where that fails, the kernel's default (1 MiB).
 */
u64 chkpt_shim_pipe_max_size(void)
{
	char buf[24] = {};
	unsigned long val;
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open("/proc/sys/fs/pipe-max-size", O_RDONLY, 0);
	if (IS_ERR(f))
		return 1048576;
	n = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	fput(f);
	if (n <= 0 || kstrtoul(strim(buf), 10, &val))
		return 1048576;
	return val;
}

/* Whether the caller has `cap` in the initial user namespace, as
 * F_SETPIPE_SZ and timerfd_create ask (capable()), without auditing. */
bool chkpt_shim_capable(int cap)
{
	return ns_capable_noaudit(&init_user_ns, cap);
}

/* The highest user address + 1 for a 64-bit task here (47-bit or 56-bit). */
u64 chkpt_shim_task_size(void)
{
	return TASK_SIZE_MAX;
}

/*
 * THE POINT OF NO RETURN. begin_new_exec() replaces the caller's mm and
 * commits bprm->cred (checked equal to the caller's above). Nothing that can
 * fail runs between it and setup_new_exec(): an error there would leave
 * exec_update_lock and cred_guard_mutex held.
 */
/*
 * The core dump writer a restored process gets: the caller's own format's,
 * when that is a built-in 64-bit one with a core_dump handler (binfmt_elf's
 * elf_format: the caller was an ELF program, or a restored one). 6.12
 * exports neither elf_format nor elf_core_dump, but the caller's
 * mm->binfmt points at it, and a built-in format is never freed.
 * elf_core_dump writes any 64-bit process: threads from the core state,
 * registers through the regsets, auxv from mm->saved_auxv (set from the
 * image), the mappings from the VMA snapshot; nothing in it depends on how
 * the process was loaded. Anything else (a kernel thread's exec, a 32-bit
 * or x32 caller, whose format writes 32-bit cores, a format in a module)
 * leaves chkpt_format, which has no core_dump: no core, as before.
 */
static struct linux_binfmt *chkpt_core_format(void)
{
	struct linux_binfmt *fmt = current->mm ? current->mm->binfmt : NULL;

	if (!fmt || !fmt->core_dump || fmt->module || in_compat_syscall())
		return &chkpt_format;
	return fmt;
}

int chkpt_shim_commit(struct linux_binprm *bprm)
{
	struct linux_binfmt *core_format = chkpt_core_format();
	int err = begin_new_exec(bprm);

	if (err)
		return err;
	/* What set_personality_64bit() does (not exported). */
	clear_thread_flag(TIF_ADDR32);
	task_pt_regs(current)->orig_ax = __NR_execve;
	current_thread_info()->status &= ~TS_COMPAT;
	__set_bit(MM_CONTEXT_HAS_VSYSCALL, &current->mm->context.flags);
	current->personality &= ~READ_IMPLIES_EXEC;
	setup_new_exec(bprm);
	set_binfmt(core_format);
	return 0;
}

/*
 * Unmaps the argument stack the exec code built in the new mm (bprm->vma,
 * still at STACK_TOP_MAX): the image brings its own stack. It is not moved
 * into place first (setup_arg_pages, as ELF does): nothing reads it, and
 * the move (an mprotect, its page tables shifted, the stack expanded by
 * 128 KiB) cost as much as several mappings. Unmapping undoes its memory
 * accounting (VM_ACCOUNT, stack_vm) as for any stack.
 */
int chkpt_shim_drop_arg_stack(struct linux_binprm *bprm)
{
	unsigned long start, end;

	/* Once: the vma is gone after the first call. */
	if (!bprm->vma)
		return 0;
	mmap_read_lock(current->mm);
	start = bprm->vma->vm_start;
	end = bprm->vma->vm_end;
	mmap_read_unlock(current->mm);
	bprm->vma = NULL;
	return vm_munmap(start, end - start);
}

unsigned long chkpt_shim_mmap(struct file *f, unsigned long addr, unsigned long len,
			      unsigned long prot, unsigned long flags, unsigned long off)
{
	return vm_mmap(f, addr, len, prot, flags, off);
}

/* The mm fields /proc and brk() use, from the image. */
void chkpt_shim_set_mm_layout(const struct chkpt_mm_layout *l)
{
	struct mm_struct *mm = current->mm;
	size_t n = min3((size_t)l->auxv_len, ARRAY_SIZE(mm->saved_auxv), ARRAY_SIZE(l->auxv));

	mmap_write_lock(mm);
	mm->start_code = l->start_code;
	mm->end_code = l->end_code;
	mm->start_data = l->start_data;
	mm->end_data = l->end_data;
	mm->start_brk = l->start_brk;
	mm->brk = l->brk;
	mm->start_stack = l->start_stack;
	spin_lock(&mm->arg_lock);
	mm->arg_start = l->arg_start;
	mm->arg_end = l->arg_end;
	mm->env_start = l->env_start;
	mm->env_end = l->env_end;
	spin_unlock(&mm->arg_lock);
	memset(mm->saved_auxv, 0, sizeof(mm->saved_auxv));
	memcpy(mm->saved_auxv, l->auxv, n * sizeof(l->auxv[0]));
	mmap_write_unlock(mm);
}

/* Last step: enter the stub at ip with %rsp = sp and %rdi = plan, every
 * signal blocked until each thread's rt_sigreturn installs its own mask,
 * but SIGKILL and SIGSTOP. The kernel's sigprocmask(), unlike the system
 * call, does not take them out: blocked, a kill -9 only queued SIGKILL,
 * and a restore whose threads waited for each other (one core-dumping
 * after a failed step while the others waited for it) could not end. */
void chkpt_shim_start(struct linux_binprm *bprm, unsigned long ip, unsigned long sp, unsigned long plan)
{
	struct pt_regs *regs = current_pt_regs();
	sigset_t all;

	sigfillset(&all);
	sigdelsetmask(&all, sigmask(SIGKILL) | sigmask(SIGSTOP));
	sigprocmask(SIG_SETMASK, &all, NULL);
	finalize_exec(bprm);
	start_thread(regs, ip, sp);
	regs->di = plan;
}

/* ---- Process trees (issue 15) ---- */

/* Number of argv strings of the exec in progress. */
int chkpt_shim_argc(struct linux_binprm *bprm)
{
	return bprm->argc;
}

/*
 * Copies up to `len` bytes of the new program's argument strings (argv[0]
 * first, each NUL-terminated, then the environment) from the new mm, where
 * the exec code put them, at bprm->p up to the end of the stack vma.
 * Returns the bytes copied or a negative errno. The caller splits them at
 * NULs and takes at most bprm->argc strings: no length here is trusted.
 */
long chkpt_shim_read_args(struct linux_binprm *bprm, u8 *buf, size_t len)
{
	struct mm_struct *mm = bprm->mm;
	unsigned long pos = bprm->p, end;
	size_t done = 0;

	mmap_read_lock(mm);
	end = bprm->vma ? bprm->vma->vm_end : pos;
	mmap_read_unlock(mm);
	while (done < len && pos < end) {
		unsigned long off = pos & ~PAGE_MASK;
		size_t n = min3((size_t)(PAGE_SIZE - off), len - done, (size_t)(end - pos));
		struct page *page;
		void *kaddr;
		long got;

		mmap_read_lock(mm);
		got = get_user_pages_remote(mm, pos, 1, FOLL_FORCE, &page, NULL);
		mmap_read_unlock(mm);
		if (got <= 0)
			return done ? (long)done : -EFAULT;
		kaddr = kmap_local_page(page);
		memcpy(buf + done, kaddr + off, n);
		kunmap_local(kaddr);
		put_page(page);
		done += n;
		pos += n;
	}
	return (long)done;
}

/* The caller's RLIMIT_NOFILE soft limit: a tree's fds lie below it. */
u64 chkpt_shim_rlimit_nofile(void)
{
	return rlimit(RLIMIT_NOFILE);
}

/* The mode of the caller's fd `fd` (a tree member's inherited object), or
 * -EBADF if it is not open. */
long chkpt_shim_fd_mode(unsigned int fd, u32 *mode)
{
	struct file *f = fget(fd);

	if (!f)
		return -EBADF;
	*mode = file_inode(f)->i_mode;
	fput(f);
	return 0;
}

/* The mode and size of the current task's fd `fd` (a tree's shared memory
 * object must be a regular file as large as its mappings). */
long chkpt_shim_fd_stat(unsigned int fd, u32 *mode, u64 *size)
{
	struct file *f = fget(fd);

	if (!f)
		return -EBADF;
	*mode = file_inode(f)->i_mode;
	*size = i_size_read(file_inode(f));
	fput(f);
	return 0;
}

/*
 * PID-namespace mode (the policy's PidFacts): whether the caller's PID
 * namespace is not the initial one and its children are created in it too
 * (no unshare(CLONE_NEWPID) pending: clone3's set_tid names a pid in the
 * namespace the child is created in), and whether the caller has
 * CAP_SYS_ADMIN in the user namespace owning it (what ckpt-restore checks;
 * clone3 set_tid accepts it). Not audited: a "no" is an answer, not a denial.
 */
void chkpt_shim_pid_facts(bool *child_namespace, bool *may_set_pids)
{
	struct pid_namespace *ns = task_active_pid_ns(current);

	*child_namespace = ns != &init_pid_ns && current->nsproxy && current->nsproxy->pid_ns_for_children == ns;
	*may_set_pids = ns_capable_noaudit(ns->user_ns, CAP_SYS_ADMIN);
}

/* Whether no pid `nr` exists in the caller's PID namespace (no task, group
 * or session holds it), so clone3 set_tid can have it. */
bool chkpt_shim_pid_free(u32 nr)
{
	bool free;

	if (nr == 0 || nr > PID_MAX_LIMIT)
		return false;
	rcu_read_lock();
	free = !find_vpid(nr);
	rcu_read_unlock();
	return free;
}

/* The caller's pid (thread group id) in its PID namespace. */
u32 chkpt_shim_own_pid(void)
{
	return task_tgid_vnr(current);
}

/*
 * After the point of no return, in a tree's root: an O_PATH file of the
 * executed image, installed at the lowest free fd (not close-on-exec), for
 * the stub's execveat of the children (which moves and later closes it).
 * O_PATH grants no read: an execute-only image stays unreadable.
 */
int chkpt_shim_install_image_path(struct linux_binprm *bprm)
{
	struct file *f = dentry_open(&bprm->file->f_path, O_PATH, current_cred());
	int fd;

	if (IS_ERR(f))
		return PTR_ERR(f);
	fd = get_unused_fd_flags(0);
	if (fd < 0) {
		fput(f);
		return fd;
	}
	fd_install(fd, f);
	return fd;
}
