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
ckpt-writer binfmt-misc status --name chkpt_userspace | grep -q 'flags: OF'

roundtrip counter 200 counter 1000 2000
# Same image again, and directly through the restorer.
must /tmp/counter.ckpt < /dev/null
same_output /tmp/counter.ref /tmp/counter.run
must ckpt-restore /tmp/counter.ckpt < /dev/null
same_output /tmp/counter.ref /tmp/counter.run

roundtrip threads8 2 threads8 2000 1000
must regs 7 6 3000000 < /dev/null > /tmp/regs.ref
run_held /tmp/regs.in /tmp/regs.run regs --wait-at 1,5 7 6 3000000
wait_line /tmp/regs.run '^waiting at 1$'
release /tmp/regs.in
must ckpt-writer dump "$pid" -o /tmp/regs.ckpt --kill
wait "$pid" 2>/dev/null || true
must /tmp/regs.ckpt < /dev/null
same_output /tmp/regs.ref /tmp/regs.run
grep -q '^round 5 ok' /tmp/regs.run
roundtrip dynamic 200 dynamic 800 2000
roundtrip counter-dynamic 200 counter-dynamic 800 2000

mkdir -p /tmp/files-ref /tmp/files-run
must files /tmp/files-ref 600 2000 < /dev/null > /tmp/files.ref
run_held /tmp/files.in /tmp/files.run files --wait-at 200 /tmp/files-run 600 2000
checkpoint "$pid" /tmp/files.run 200 /tmp/files.ckpt
must /tmp/files.ckpt < /dev/null
same_output /tmp/files.ref /tmp/files.run
cmp /tmp/files-ref/output.txt /tmp/files-run/output.txt
cmp /tmp/files-ref/append.log /tmp/files-run/append.log

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

must bigmem 256 200 50000 < /dev/null > /tmp/bigmem.ref
run_held /tmp/bigmem.in /tmp/bigmem.run bigmem --wait-at 10,30 256 200 50000
checkpoint "$pid" /tmp/bigmem.run 10 /tmp/bigmem.ckpt
restore_held /tmp/bigmem.in /tmp/bigmem.run 30 /tmp/bigmem.ckpt
test "$(grep -c bigmem.ckpt "/proc/$pid/maps")" -gt 0
rss_kib=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
echo "resident 20 steps after restore: $rss_kib KiB"
test "$rss_kib" -lt $((128 * 1024))
release /tmp/bigmem.in
must wait "$pid"
same_output /tmp/bigmem.ref /tmp/bigmem.run

# A restored process dumped again; the first image deleted; the second restored.
must counter 1500 2000 < /dev/null > /tmp/again.ref
run_held /tmp/again.in /tmp/again.run counter --wait-at 200,600 1500 2000
checkpoint "$pid" /tmp/again.run 200 /tmp/first.ckpt
restore_held /tmp/again.in /tmp/again.run 600 /tmp/first.ckpt
checkpoint "$pid" /tmp/again.run 600 /tmp/second.ckpt
rm /tmp/first.ckpt
! ckpt-writer inspect /tmp/second.ckpt | grep -q first.ckpt
must /tmp/second.ckpt < /dev/null
same_output /tmp/again.ref /tmp/again.run

# An unprivileged user dumps their own process and restores it: it runs
# with exactly the caller's uid, gids and (no) capabilities.
mkdir -p /tmp/user
chown 1000:1000 /tmp/user
cat > /tmp/user/run.sh <<'INNER'
. /scenarios/lib.sh
cd /tmp/user
must counter 1000 2000 < /dev/null > /tmp/user/ref.out
run_held /tmp/user/in /tmp/user/run.out counter --wait-at 200,400 1000 2000
checkpoint "$pid" /tmp/user/run.out 200 /tmp/user/counter.ckpt
restore_held /tmp/user/in /tmp/user/run.out 400 /tmp/user/counter.ckpt
grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/$$/status > /tmp/user/caller.status
grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "/proc/$pid/status" > /tmp/user/restored.status
release /tmp/user/in
must wait "$pid"
same_output /tmp/user/ref.out /tmp/user/run.out
INNER
must run-as 1000 1000 sh -e /tmp/user/run.sh
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
run_held /tmp/copy.in /tmp/copy.out /tmp/counter-copy --wait-at 0 100000 2000
checkpoint "$pid" /tmp/copy.out 0 /tmp/copy.ckpt
rm /tmp/counter-copy
expect_status 6 mapped-file-missing /tmp/copy.ckpt
# A root process with a root-only file, restored by uid 1000.
mkdir -p /tmp/pub/secret
chmod 755 /tmp/pub
chmod 700 /tmp/pub/secret
cd /tmp/pub
run_held /tmp/pub/in /tmp/pub/out files --wait-at 100 /tmp/pub/secret 100000 2000
cd /tmp
checkpoint "$pid" /tmp/pub/out 100 /tmp/pub/root.ckpt
chmod 666 /tmp/pub/out
expect_status 7 fd-file-permission /tmp/pub/root.ckpt run-as 1000 1000
# Where a kernel refuses PR_SET_MM_MAP (forced): a dynamically linked
# program restores and its malloc keeps working; a static one (its break
# below the restorer's) is refused before the teardown.
export CKPT_RESTORE_NO_MM_MAP=1
roundtrip nomm-dynamic 200 dynamic 800 2000
unset CKPT_RESTORE_NO_MM_MAP
expect_status 5 brk-below-restorer /tmp/counter.ckpt env CKPT_RESTORE_NO_MM_MAP=1
echo "restore_userspace: all checks passed"
