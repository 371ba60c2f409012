# Hostile register state and resource demands are refused before the point
# of no return, and restoring never grants a privilege the caller lacks;
# through the restorer named by the scenario's argument.
. /scenarios/lib.sh
use_restorer "$1"
mkdir -p /tmp/hz
chown 1000:1000 /tmp/hz

# The base: a counter of the unprivileged user, who restores everything,
# dumped while it waits at step 100. A restored one let past that waits
# again at step 101, where the scenario looks at it (its output file is
# put back as it was at the dump first, so that the line is new); one
# restored by mistake with stdin at end of file ends 10 steps later.
cat > /tmp/hz/base.sh <<'INNER'
. /scenarios/lib.sh
run_held /tmp/hz/base.in /tmp/hz/base.out counter --wait-at 100,101 110 2000
checkpoint "$pid" /tmp/hz/base.out 100 /tmp/hz/base.ckpt
cp /tmp/hz/base.out /tmp/hz/base.out.at-dump
INNER
must run-as 1000 1000 sh -e /tmp/hz/base.sh

# Register values the kernel's own sigreturn would refuse, an XSAVE
# component outside XCR0, and features no CPU has.
for kind in noncanonical-rip bad-cs bad-ss reserved-eflags xsave-feature cpu-feature huge-region many-threads; do
    must mutate-image "$kind" /tmp/hz/base.ckpt "/tmp/hz/$kind.ckpt"
done
chmod 755 /tmp/hz/*.ckpt
expect_refusal non-canonical-register /tmp/hz/noncanonical-rip.ckpt run-as 1000 1000
expect_refusal bad-code-segment /tmp/hz/bad-cs.ckpt run-as 1000 1000
expect_refusal bad-stack-segment /tmp/hz/bad-ss.ckpt run-as 1000 1000
expect_refusal bad-eflags /tmp/hz/reserved-eflags.ckpt run-as 1000 1000
expect_refusal xstate-bv-not-in-xcr0 /tmp/hz/xsave-feature.ckpt run-as 1000 1000
expect_refusal cpu-missing-features /tmp/hz/cpu-feature.ckpt run-as 1000 1000

# Resources: 16 TiB of sparse memory beyond the caller's RLIMIT_AS, and
# 16384 threads beyond its RLIMIT_NPROC, are refused cheaply. The worst
# (16384 threads: 45 MB of metadata read and validated) is timed.
cat > /tmp/hz/limits.sh <<'INNER'
ulimit -v 4194304
exec exec-errno /tmp/hz/huge-region.ckpt
INNER
expect_refusal exceeds-rlimit-as /tmp/hz/huge-region.ckpt run-as 1000 1000 sh /tmp/hz/limits.sh --
cat > /tmp/hz/nproc.sh <<'INNER'
ulimit -u 64
exec exec-errno /tmp/hz/many-threads.ckpt
INNER
expect_refusal exceeds-rlimit-nproc /tmp/hz/many-threads.ckpt run-as 1000 1000 sh /tmp/hz/nproc.sh --
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
before_kb=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
start=$(uptime_ms)
run-as 1000 1000 sh /tmp/hz/nproc.sh < /dev/null > /dev/null 2>&1 || true
end=$(uptime_ms)
after_kb=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
echo "refusing 16384 threads ($(stat -c %s /tmp/hz/many-threads.ckpt) bytes of image) took $((end - start)) ms; MemAvailable $before_kb kB before, $after_kb kB after"
start=$(uptime_ms)
md5sum /tmp/hz/many-threads.ckpt > /dev/null
end=$(uptime_ms)
echo "for comparison, md5sum of the same file took $((end - start)) ms"
# A setuid-root program's process, dumped by root and restored by the
# user who started it: the restored process has the user's ids, not root's.
# (The user's shell makes the output file, which the restored process
# reopens.)
cp /usr/bin/counter /tmp/hz/suid-counter
chmod 4755 /tmp/hz/suid-counter
run_held /tmp/hz/suid.in /tmp/hz/suid.console run-as 1000 1000 sh -c 'exec /tmp/hz/suid-counter --wait-at 100,101 110 2000 > /tmp/hz/suid.out'
wait_line /tmp/hz/suid.out '^waiting at 100$'
grep '^Uid:' "/proc/$pid/status"
checkpoint "$pid" /tmp/hz/suid.out 100 /tmp/hz/suid.ckpt
chmod 755 /tmp/hz/suid.ckpt
restore_held /tmp/hz/suid.in /tmp/hz/suid.out 101 run-as 1000 1000 /tmp/hz/suid.ckpt
grep '^Uid:' "/proc/$pid/status"
grep -q '^Uid:	1000	1000	1000	1000$' "/proc/$pid/status"
grep -q '^CapEff:	0000000000000000$' "/proc/$pid/status"
kill "$pid"
wait "$pid" || true

# no_new_privs set by the caller stays set in the restored process.
cp /tmp/hz/base.out.at-dump /tmp/hz/base.out
restore_held /tmp/hz/base.in /tmp/hz/base.out 101 run-as 1000 1000 setpriv --nnp /tmp/hz/base.ckpt
grep '^NoNewPrivs:' "/proc/$pid/status"
grep -q '^NoNewPrivs:	1$' "/proc/$pid/status"
kill "$pid"
wait "$pid" || true

# Without the limit the sparse 16 TiB are mapped (never touched, never
# charged: MAP_NORESERVE) and the counter runs on.
cp /tmp/hz/base.out.at-dump /tmp/hz/base.out
restore_held /tmp/hz/base.in /tmp/hz/base.out 101 run-as 1000 1000 /tmp/hz/huge-region.ckpt
grep '^100000000000-' "/proc/$pid/maps"
kill -9 "$pid"
wait "$pid" || true

echo "restore_hostile: all checks passed"
