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
# Maps: the number of /proc/PID/maps entries of counter before the dump
# and after restore, printed (restorer/README.md: the bounded difference).
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
before=$(wc -l < /proc/$pid/maps)
checkpoint "$pid" /tmp/maps.run 1 /tmp/maps.ckpt
restore_held /tmp/maps.in /tmp/maps.run 2 /tmp/maps.ckpt
after=$(wc -l < /proc/$pid/maps)
release /tmp/maps.in
must wait "$pid"
echo "maps entries ($RESTORER): original $before, restored $after"
if [ "$after" -gt $((before + 6)) ]; then
    echo "FAIL: the restored process has $after maps entries, more than the original's $before + 6"; exit 1
fi
echo "restore_state ($RESTORER): all checks passed"
