# Process state beyond memory, run as restore_state:module and
# restore_state:userspace.
# Core dumps: crashcore (4 threads) is dumped at wait point 1, restored,
# and let crash (a store through a null pointer) at wait point 2; the
# restored process leaves a core (core_pattern /tmp/cores/core.%p) that
# readelf reads as an ELF core with one NT_PRSTATUS per thread and a
# mapped-files note (NT_FILE).
# File locks: filelocks' POSIX, OFD and flock locks are held again after
# restore (checked by a child it forks, with F_GETLK / F_OFD_GETLK /
# flock), same output as an uninterrupted run.
# Shared file mappings: mapwrite's read-only shared mapping from an O_RDWR
# fd can still be made writable after restore, the one from an O_RDONLY fd
# still cannot.
# A removed working directory: counter, dumped after its cwd was removed,
# is refused before the point of no return (cwd-removed).
# Read-only shared and private memory with data keeps bytes, protection
# and may-write access (mapprot).
# mlock, madvise and PR_SET_THP_DISABLE state (mapflags), and the
# caller's RLIMIT_MEMLOCK for the locked regions.
# Maps: counter's /proc/PID/maps after restore has the original's entries
# one for one, plus the stub's final page (restorer/README.md); its
# /proc/PID/exe names counter again.
. /scenarios/lib.sh
use_restorer "$1"

# Core dumps.
rm -rf /tmp/cores
mkdir -p /tmp/cores
echo '/tmp/cores/core.%p' > /proc/sys/kernel/core_pattern
run_held /tmp/crash.in /tmp/crash.run crashcore --wait-at 1,2 3
checkpoint "$pid" /tmp/crash.run 1 /tmp/crash.ckpt
restore_held /tmp/crash.in /tmp/crash.run 2 /tmp/crash.ckpt
crashed=$pid
release /tmp/crash.in
set +e
wait "$crashed"
status=$?
set -e
if [ "$status" != 139 ]; then
    echo "FAIL: restored crashcore: want status 139 (SIGSEGV), got $status"; cat /tmp/crash.run; exit 1
fi
core=/tmp/cores/core.$crashed
if [ ! -s "$core" ]; then
    echo "FAIL: no core $core after the restored process crashed:"; ls -l /tmp/cores; exit 1
fi
must readelf -h "$core" > /tmp/core.h
must grep -q 'Type: *CORE' /tmp/core.h
must readelf -n "$core" > /tmp/core.notes
threads=$(grep -c 'NT_PRSTATUS' /tmp/core.notes || true)
if [ "$threads" != 4 ]; then
    echo "FAIL: $core has $threads NT_PRSTATUS notes, want 4 (one per thread)"; cat /tmp/core.notes | head -n 40; exit 1
fi
# The mapped files' note (this readelf cannot print its contents).
must grep -q 'NT_FILE' /tmp/core.notes
echo "core: $core, $(stat -c %s "$core") bytes, $threads threads (NT_PRSTATUS), mapped files (NT_FILE)"

# File locks.
roundtrip filelocks 1 filelocks /tmp/filelocks.dat
must grep -q '^result OK$' /tmp/filelocks.run
ckpt-writer inspect /tmp/filelocks.ckpt > /tmp/filelocks.inspect
must grep -q '^file locks (4):$' /tmp/filelocks.inspect

# Shared file mappings keep their may-write access (mapwrite checks
# mprotect(PROT_WRITE) after restore).
roundtrip mapwrite 1 mapwrite /tmp/mapwrite.dat
must grep -q '^result OK$' /tmp/mapwrite.run

# Read-only memory with data, shared (r--s) and private (r--p): bytes,
# one maps entry with its protection, and mprotect(PROT_WRITE) again
# (mapprot checks them after restore).
roundtrip mapprot 1 mapprot
must grep -q '^result OK$' /tmp/mapprot.run

# What prctl set: parent-death signal, child subreaper (an orphan is
# reaped by the restored process), no_new_privs, not dumpable (prctls
# checks each after restore).
roundtrip prctls 1 prctls
must grep -q '^result OK$' /tmp/prctls.run

# Each thread's scheduling (SCHED_BATCH at nice 3 with reset-on-fork,
# SCHED_IDLE, root's SCHED_FIFO worker, I/O priorities, affinity) and
# oom_score_adj, as the kernel reports them after restore.
roundtrip schedattrs 1 schedattrs
must grep -q '^main: policy 3 flags 0x1 nice 3 priority 0 ' /tmp/schedattrs.run
must grep -q '^oom_score_adj 500$' /tmp/schedattrs.run


# What mlock and madvise set on each region, and PR_SET_THP_DISABLE:
# mapflags checks each region's VmFlags, VmLck and what a fork sees after
# restore. The regions' lock is taken again under the caller's
# RLIMIT_MEMLOCK: an unprivileged caller allowed 4 KiB is refused before
# the point of no return; root (CAP_IPC_LOCK) with that limit is not.
roundtrip mapflags 1 mapflags
must grep -q '^result OK$' /tmp/mapflags.run
ckpt-writer inspect /tmp/mapflags.ckpt > /tmp/mapflags.inspect
must grep -q '^    mlock$' /tmp/mapflags.inspect
must grep -q '^    MADV_WIPEONFORK$' /tmp/mapflags.inspect
chmod 755 /tmp/mapflags.ckpt
expect_refusal exceeds-rlimit-memlock /tmp/mapflags.ckpt run-as 1000 1000 sh -c 'ulimit -l 4 && exec "$@"' sh
: > /tmp/mapflags.run
must sh -c 'ulimit -l 4 && exec /tmp/mapflags.ckpt' < /dev/null
must grep -q '^result OK$' /tmp/mapflags.run

# Credentials: a process that dropped root (groups, gids, uids, only
# CAP_NET_BIND_SERVICE kept, ambient too, CAP_SYS_MODULE out of its
# bounding set) comes back with exactly those when root restores it
# (creds checks each).
roundtrip creds 1 creds
must grep -q '^result OK$' /tmp/creds.run
ckpt-writer inspect /tmp/creds.ckpt > /tmp/creds.inspect
must grep -q 'credentials: uid 1004/1005/1006/1005 gid 1001/1002/1003/1002' /tmp/creds.inspect

# A removed working directory.
rm -rf /tmp/gone
mkdir /tmp/gone
cd /tmp/gone
run_held /tmp/cwd.in /tmp/cwd.run counter --wait-at 1 100 0
cd /
must rmdir /tmp/gone
checkpoint "$pid" /tmp/cwd.run 1 /tmp/cwd.ckpt
ckpt-writer inspect /tmp/cwd.ckpt > /tmp/cwd.inspect
must grep -q 'cwd /tmp/gone (removed before the dump)' /tmp/cwd.inspect
expect_refusal cwd-removed /tmp/cwd.ckpt

# /proc/PID/maps entries, original against restored.
run_held /tmp/maps.in /tmp/maps.run counter --wait-at 1,2 100 0
wait_line /tmp/maps.run '^waiting at 1$' "$pid"
cat /proc/$pid/maps > /tmp/maps.before
exe_before=$(readlink /proc/$pid/exe)
checkpoint "$pid" /tmp/maps.run 1 /tmp/maps.ckpt
restore_held /tmp/maps.in /tmp/maps.run 2 /tmp/maps.ckpt
cat /proc/$pid/maps > /tmp/maps.after
exe_after=$(readlink /proc/$pid/exe)
release /tmp/maps.in
must wait "$pid"
echo "maps entries ($RESTORER): original $(wc -l < /tmp/maps.before), restored $(wc -l < /tmp/maps.after)"
# Every original entry, one for one; one more: the stub's final page, an
# anonymous r-x page (restorer/README.md).
# Root (CAP_CHECKPOINT_RESTORE): /proc/PID/exe names the program again.
echo "exe ($RESTORER): original $exe_before, restored $exe_after"
if [ "$exe_after" != "$exe_before" ]; then
    echo "FAIL: /proc/PID/exe is $exe_after after restore, $exe_before before"; exit 1
fi
if grep -vxFf /tmp/maps.after /tmp/maps.before > /tmp/maps.lost; then
    echo "FAIL: original maps entries missing after restore:"; cat /tmp/maps.lost; cat /tmp/maps.after; exit 1
fi
grep -vxFf /tmp/maps.before /tmp/maps.after > /tmp/maps.extra
if [ "$(wc -l < /tmp/maps.extra)" != 1 ] || ! grep -Eq '^[0-9a-f]+-[0-9a-f]+ r-xp 00000000 00:00 0 *$' /tmp/maps.extra; then
    echo "FAIL: restored maps entries beyond the stub's final page:"; cat /tmp/maps.extra; exit 1
fi
echo "restore_state ($RESTORER): all checks passed"
