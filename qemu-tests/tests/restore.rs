//! Restore through the module, in the guest: real programs dumped mid-run,
//! killed, restored by executing the image, and compared with an
//! uninterrupted run of the same program (the scenarios compare; each
//! program also checks its own state and exits non-zero if it is off).

use qemu_tests::boot;

fn passes(scenarios: &[&str]) {
    let run = boot(scenarios);
    for s in scenarios {
        run.assert_passed(s);
    }
    run.assert_clean();
}

/// Single thread; the same image again; twice at once on piped stdouts.
#[test]
fn a_counter_restored_by_execve_continues_where_it_stopped() {
    passes(&["restore_counter"]);
}

/// 8 pthreads: mutex, condition variable, pthread_kill, join.
#[test]
fn threads_mutexes_and_pthread_kill_work_after_restore() {
    passes(&["restore_threads"]);
}

/// Registers (GPR, ymm), files at offsets, signals, dynamic glibc.
#[test]
fn registers_files_signals_and_dynamic_glibc_survive_restore() {
    passes(&["restore_programs"]);
}

/// Each refusal before the point of no return: errno, log line, caller
/// unharmed; and an unprivileged user's restore has exactly their creds.
#[test]
fn bad_images_are_refused_and_a_user_restores_only_with_their_own_rights() {
    passes(&["restore_refusals", "restore_unprivileged"]);
}

/// 256 MiB with holes, mapped lazily from the image; a restored process
/// dumped again holds its memory, and the module stays loaded meanwhile.
#[test]
fn big_memory_is_mapped_lazily_and_a_restored_process_can_be_dumped_again() {
    passes(&["restore_memory"]);
}

/// Register state sigreturn would refuse, XSAVE features outside XCR0 or
/// this CPU, RLIMIT_AS and RLIMIT_NPROC: refused before the point of no
/// return. A setuid-root program's image gives its user no root; the
/// caller's no_new_privs stays; 16 TiB of sparse memory restores.
#[test]
fn hostile_registers_and_resources_are_refused_and_no_privilege_is_gained() {
    passes(&["restore_hostile"]);
}

/// Signals pending at dump time (process queue and each thread's, standard
/// and real-time with their siginfo) are delivered after restore, and
/// itimers and POSIX timers come back armed with their ids, by the module
/// and by ckpt-restore behind binfmt_misc.
#[test]
fn pending_signals_and_timers_are_restored_in_both_restorers() {
    passes(&["restore_signals:module", "restore_signals:userspace"]);
}
