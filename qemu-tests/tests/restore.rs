//! Restore in the guest through both restorers, the kernel module and
//! ckpt-restore behind binfmt_misc: real programs dumped mid-run, killed,
//! restored by executing the image, and compared with an uninterrupted run
//! of the same program (the scenarios compare; each program also checks
//! its own state and exits non-zero if it is off); bad images refused
//! before the point of no return with the errno and log line (module) or
//! exit status and message (ckpt-restore) of the one refusal table.
//!
//! Each scenario runs as NAME:RESTORER (lib.sh's use_restorer); each group
//! boots once per restorer, with what only that restorer does last.

use qemu_tests::boot;

/// Boots one guest that runs `scenarios` under `restorer`, then `own`
/// (scenarios of that restorer alone), and checks that all passed.
fn passes(restorer: &str, scenarios: &[&str], own: &[&str]) {
    let names: Vec<String> = scenarios.iter().map(|s| format!("{s}:{restorer}")).chain(own.iter().map(|s| s.to_string())).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let run = boot(&names);
    for s in &names {
        run.assert_passed(s);
    }
    run.assert_clean();
}

/// Single thread (the same image again, twice at once on piped stdouts);
/// 8 pthreads (mutex, condition variable, pthread_kill, join); registers
/// (GPR, ymm), files at offsets, signals, dynamic glibc; fds sharing open
/// file descriptions, pipes with queued bytes, lone pipe ends, a dup of
/// stdout, eventfd, signalfd, timerfd and epoll; signals pending at dump
/// (process queue and each thread's, standard and real-time with their
/// siginfo), itimers and POSIX timers with their ids, membarrier.
const PROGRAMS: &[&str] = &["restore_counter", "restore_threads", "restore_programs", "restore_fds", "restore_signals"];

#[test]
fn programs_continue_where_they_stopped_through_the_module() {
    passes("module", PROGRAMS, &[]);
}

#[test]
fn programs_continue_where_they_stopped_through_the_userspace_restorer() {
    passes("userspace", PROGRAMS, &[]);
}

/// Cores of restored processes, file locks, a removed cwd, map entries;
/// listening and bound sockets, a TCP connection restored reset, deleted
/// files, inotify; a TCP connection carried with TCP_REPAIR, named FIFOs;
/// a process tree (pipeline of children, a zombie, a stopped child); a
/// memfd and a deleted file mapped MAP_SHARED, a tree's shared anonymous
/// memory (deferred regions). A boot of its own, so that no boot nears the guest
/// timeout on a busy machine.
const STATE_SOCKETS_TREES: &[&str] = &["restore_state", "restore_sockets", "restore_tcprepair", "restore_tree", "restore_deferred"];

#[test]
fn process_state_sockets_and_trees_come_back_through_the_module() {
    passes("module", STATE_SOCKETS_TREES, &[]);
}

#[test]
fn process_state_sockets_and_trees_come_back_through_the_userspace_restorer() {
    passes("userspace", STATE_SOCKETS_TREES, &[]);
}

/// 256 MiB with holes, mapped lazily from the image; a restored process
/// dumped again holds its memory; an unprivileged user's restore has
/// exactly their credentials.
const MEMORY_AND_USERS: &[&str] = &["restore_memory", "restore_unprivileged"];

#[test]
fn memory_is_mapped_lazily_and_a_user_restores_with_their_own_rights_through_the_module() {
    passes("module", MEMORY_AND_USERS, &[]);
}

#[test]
fn memory_is_mapped_lazily_and_a_user_restores_with_their_own_rights_through_the_userspace_restorer() {
    passes("userspace", MEMORY_AND_USERS, &[]);
}

/// Each refusal before the point of no return (corrupt, truncated, bad
/// regions, mapped files, vdso, setuid, root-only files; register state
/// sigreturn would refuse, XSAVE features, RLIMIT_AS and RLIMIT_NPROC);
/// a setuid-root program's image gives its user no root; the caller's
/// no_new_privs stays; 16 TiB of sparse memory restores. Then what is the
/// restorer's own: the module unloading cleanly while a process it
/// restored runs on; ckpt-restore's registration, direct use and the
/// PR_SET_MM_MAP fallback.
const REFUSALS: &[&str] = &["restore_refusals", "restore_hostile"];

#[test]
fn bad_images_are_refused_and_no_privilege_is_gained_through_the_module() {
    passes("module", REFUSALS, &["restore_module"]);
}

#[test]
fn bad_images_are_refused_and_no_privilege_is_gained_through_the_userspace_restorer() {
    passes("userspace", REFUSALS, &["restore_userspace"]);
}

