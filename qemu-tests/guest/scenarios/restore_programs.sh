# Every kind of process state, each program dumped and killed mid-run,
# restored through the restorer named by the scenario's argument and
# compared with an uninterrupted run; each program also checks its own
# state as it goes and exits non-zero if anything (a register, a signal
# handler, a file offset) is off.
. /scenarios/lib.sh
use_restorer "$1"

# Register fidelity: general registers and ymm (zmm where the CPU has
# AVX-512) loaded before the dump, checked in an assembly loop after it.
# Let past its wait point before round 1, the program is dumped inside
# that loop; the wait point before round 5 keeps it from ending first.
must regs 7 6 3000000 < /dev/null > /tmp/regs.ref
run_held /tmp/regs.in /tmp/regs.run regs --wait-at 1,5 7 6 3000000
wait_line /tmp/regs.run '^waiting at 1$'
release /tmp/regs.in
must ckpt-writer dump "$pid" -o /tmp/regs.ckpt --kill
wait "$pid" 2>/dev/null || true
must /tmp/regs.ckpt < /dev/null
same_output /tmp/regs.ref /tmp/regs.run
grep -q '^round 5 ok' /tmp/regs.run

# Files open at offsets: a read-only input keeps reading where it was, an
# output and an O_APPEND log keep writing at the right place.
mkdir -p /tmp/files-ref /tmp/files-run
must files /tmp/files-ref 600 2000 < /dev/null > /tmp/files.ref
run_held /tmp/files.in /tmp/files.run files --wait-at 200 /tmp/files-run 600 2000
checkpoint "$pid" /tmp/files.run 200 /tmp/files.ckpt
must /tmp/files.ckpt < /dev/null
same_output /tmp/files.ref /tmp/files.run
cmp /tmp/files-ref/output.txt /tmp/files-run/output.txt
cmp /tmp/files-ref/append.log /tmp/files-run/append.log

# Signals: handlers, the blocked mask and the alternate stack are checked
# by the program every step; three SIGRTMIN sent while it waits at step
# 500 (after the restore) are counted.
run_held /tmp/signals.in /tmp/signals.ref signals --wait-at 500 1500 2000
wait_line /tmp/signals.ref '^waiting at 500$'
kill -34 "$pid"; kill -34 "$pid"; kill -34 "$pid"
release /tmp/signals.in
must wait "$pid"
run_held /tmp/signals.in /tmp/signals.run signals --wait-at 200,500 1500 2000
checkpoint "$pid" /tmp/signals.run 200 /tmp/signals.ckpt
restore_held /tmp/signals.in /tmp/signals.run 500 /tmp/signals.ckpt
kill -34 "$pid"; kill -34 "$pid"; kill -34 "$pid"
release /tmp/signals.in
must wait "$pid"
same_output /tmp/signals.ref /tmp/signals.run
grep -q '^rt_count 3$' /tmp/signals.run

# glibc, dynamically linked (libc.so and ld.so mapped from their files,
# with the pages they wrote stored in the image), and statically linked.
roundtrip dynamic 200 dynamic 800 2000
roundtrip counter-dynamic 200 counter-dynamic 800 2000
echo "restore_programs: all checks passed"
