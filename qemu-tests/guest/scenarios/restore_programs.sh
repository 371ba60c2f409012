# Every kind of process state, each program dumped and killed mid-run,
# restored through the module and compared with an uninterrupted run; each
# program also checks its own state as it goes and exits non-zero if
# anything (a register, a signal handler, a file offset) is off.
. /scenarios/lib.sh
load_module

# Register fidelity: general registers and ymm (zmm where the CPU has
# AVX-512) loaded before the dump, checked in an assembly loop after it.
roundtrip regs '^round 1 ok' regs 7 6 3000000
grep -q '^round 5 ok' /tmp/regs.run

# Files open at offsets: a read-only input keeps reading where it was, an
# output and an O_APPEND log keep writing at the right place.
mkdir -p /tmp/files-ref /tmp/files-run
files /tmp/files-ref 600 2000 > /tmp/files.ref
files /tmp/files-run 600 2000 > /tmp/files.run &
pid=$!
wait_line /tmp/files.run '^step 200'
ckpt-writer dump "$pid" -o /tmp/files.ckpt --kill
wait "$pid" 2>/dev/null || true
/tmp/files.ckpt
same_output /tmp/files.ref /tmp/files.run
cmp /tmp/files-ref/output.txt /tmp/files-run/output.txt
cmp /tmp/files-ref/append.log /tmp/files-run/append.log

# Signals: handlers, the blocked mask and the alternate stack are checked
# by the program every step; three SIGRTMIN sent after restore are counted.
signals 1500 2000 > /tmp/signals.ref &
pid=$!
wait_line /tmp/signals.ref '^ready'
kill -34 "$pid"; kill -34 "$pid"; kill -34 "$pid"
wait "$pid"
signals 1500 2000 > /tmp/signals.run &
pid=$!
wait_line /tmp/signals.run '^step 200'
ckpt-writer dump "$pid" -o /tmp/signals.ckpt --kill
wait "$pid" 2>/dev/null || true
/tmp/signals.ckpt &
pid=$!
wait_line /tmp/signals.run '^step 500'
kill -34 "$pid"; kill -34 "$pid"; kill -34 "$pid"
wait "$pid"
same_output /tmp/signals.ref /tmp/signals.run
grep -q '^rt_count 3$' /tmp/signals.run

# glibc, dynamically linked (libc.so and ld.so mapped from their files,
# with the pages they wrote stored in the image), and statically linked.
roundtrip dynamic '^step 200 ' dynamic 800 2000
roundtrip counter-dynamic '^step 200 ' counter-dynamic 800 2000
echo "restore_programs: all checks passed"
