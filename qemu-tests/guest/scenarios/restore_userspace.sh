# The userspace restorer behind binfmt_misc, without the module: every
# workload dumped mid-run, killed, restored by executing the image (run by
# /usr/bin/ckpt-restore, statically linked) and compared with an
# uninterrupted run; the entry is always removed again.
. /scenarios/lib.sh
! grep -q '^binfmt_chkpt ' /proc/modules
test -e /proc/sys/fs/binfmt_misc/register || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
! ckpt-writer binfmt-misc unregister --name chkpt_userspace 2>/dev/null
ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_userspace
trap 'ckpt-writer binfmt-misc unregister --name chkpt_userspace' EXIT
# Registering twice is refused.
! ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_userspace 2>/dev/null
ckpt-writer binfmt-misc status --name chkpt_userspace | grep -q 'flags: F'

roundtrip counter '^step 200 ' counter 1000 2000
# Same image again, and directly through the restorer.
/tmp/counter.ckpt
same_output /tmp/counter.ref /tmp/counter.run
ckpt-restore /tmp/counter.ckpt
same_output /tmp/counter.ref /tmp/counter.run

roundtrip threads8 '^progress 2/10' threads8 2000 1000
roundtrip regs '^round 1 ok' regs 7 6 3000000
grep -q '^round 5 ok' /tmp/regs.run
roundtrip dynamic '^step 200 ' dynamic 800 2000
roundtrip counter-dynamic '^step 200 ' counter-dynamic 800 2000

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

bigmem 256 200 50000 > /tmp/bigmem.ref
bigmem 256 200 50000 > /tmp/bigmem.run &
pid=$!
wait_line /tmp/bigmem.run '^step 10$'
ckpt-writer dump "$pid" -o /tmp/bigmem.ckpt --kill
wait "$pid" 2>/dev/null || true
/tmp/bigmem.ckpt &
pid=$!
wait_line /tmp/bigmem.run '^step 30$'
test "$(grep -c bigmem.ckpt "/proc/$pid/maps")" -gt 0
rss_kib=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
echo "resident 20 steps after restore: $rss_kib KiB"
test "$rss_kib" -lt $((128 * 1024))
wait "$pid"
same_output /tmp/bigmem.ref /tmp/bigmem.run

# A restored process dumped again; the first image deleted; the second restored.
counter 1500 2000 > /tmp/again.ref
counter 1500 2000 > /tmp/again.run &
pid=$!
wait_line /tmp/again.run '^step 200 '
ckpt-writer dump "$pid" -o /tmp/first.ckpt --kill
wait "$pid" 2>/dev/null || true
/tmp/first.ckpt &
pid=$!
wait_line /tmp/again.run '^step 600 '
ckpt-writer dump "$pid" -o /tmp/second.ckpt --kill
wait "$pid" 2>/dev/null || true
rm /tmp/first.ckpt
! ckpt-writer inspect /tmp/second.ckpt | grep -q first.ckpt
/tmp/second.ckpt
same_output /tmp/again.ref /tmp/again.run

# An unprivileged user dumps their own process and restores it: it runs
# with exactly the caller's uid, gids and (no) capabilities.
mkdir -p /tmp/user
chown 1000:1000 /tmp/user
cat > /tmp/user/run.sh <<'INNER'
. /scenarios/lib.sh
cd /tmp/user
counter 1000 2000 > /tmp/user/ref.out
counter 1000 2000 > /tmp/user/run.out &
pid=$!
wait_line /tmp/user/run.out '^step 200 '
ckpt-writer dump "$pid" -o /tmp/user/counter.ckpt --kill
wait "$pid" 2>/dev/null || true
/tmp/user/counter.ckpt &
pid=$!
wait_line /tmp/user/run.out '^step 400 '
grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/$$/status > /tmp/user/caller.status
grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "/proc/$pid/status" > /tmp/user/restored.status
wait "$pid"
same_output /tmp/user/ref.out /tmp/user/run.out
INNER
run-as 1000 1000 sh -e /tmp/user/run.sh
cmp /tmp/user/caller.status /tmp/user/restored.status
grep -q '^Uid:	1000	1000	1000	1000$' /tmp/user/restored.status
grep -q '^CapEff:	0000000000000000$' /tmp/user/restored.status

# Refusals: the status and reason of the restorer, the shell goes on.
# expect_status STATUS REASON IMAGE [run-as UID GID]
expect_status() {
    want=$1; reason=$2; image=$3; shift 3
    set +e
    "$@" "$image" 2> /tmp/refusal.err
    got=$?
    set -e
    grep -q "$reason" /tmp/refusal.err || { echo "FAIL: $image: no $reason in: $(cat /tmp/refusal.err)"; exit 1; }
    test "$got" = "$want" || { echo "FAIL: $image: status $got, want $want"; exit 1; }
    echo "$image: refused with status $got: $(cat /tmp/refusal.err)"
}
head -c 8192 /tmp/counter.ckpt > /tmp/truncated.ckpt
chmod +x /tmp/truncated.ckpt
expect_status 4 truncated /tmp/truncated.ckpt
cp /tmp/counter.ckpt /tmp/flipped.ckpt
printf '\377' | dd of=/tmp/flipped.ckpt bs=1 seek=300 conv=notrunc 2>/dev/null
expect_status 4 metadata-checksum /tmp/flipped.ckpt
cp /usr/bin/counter-dynamic /tmp/counter-copy
/tmp/counter-copy 100000 2000 > /tmp/copy.out &
pid=$!
wait_line /tmp/copy.out '^ready'
ckpt-writer dump "$pid" -o /tmp/copy.ckpt --kill
wait "$pid" 2>/dev/null || true
rm /tmp/counter-copy
expect_status 6 mapped-file-missing /tmp/copy.ckpt
# A root process with a root-only file, restored by uid 1000.
mkdir -p /tmp/pub/secret
chmod 755 /tmp/pub
chmod 700 /tmp/pub/secret
(cd /tmp/pub && exec files /tmp/pub/secret 100000 2000 > /tmp/pub/out) &
pid=$!
wait_line /tmp/pub/out '^step 100'
ckpt-writer dump "$pid" -o /tmp/pub/root.ckpt --kill
wait "$pid" 2>/dev/null || true
chmod 666 /tmp/pub/out
expect_status 7 fd-file-permission /tmp/pub/root.ckpt run-as 1000 1000
# Where a kernel refuses PR_SET_MM_MAP (forced): a dynamically linked
# program restores and its malloc keeps working; a static one (its break
# below the restorer's) is refused before the teardown.
export CKPT_RESTORE_NO_MM_MAP=1
roundtrip nomm-dynamic '^step 200 ' dynamic 800 2000
unset CKPT_RESTORE_NO_MM_MAP
expect_status 5 brk-below-restorer /tmp/counter.ckpt env CKPT_RESTORE_NO_MM_MAP=1
echo "restore_userspace: all checks passed"
