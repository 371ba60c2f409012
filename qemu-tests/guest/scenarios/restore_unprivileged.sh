# An unprivileged user dumps their own process and restores it: it runs
# with exactly the caller's uid, gids and (no) capabilities, and continues
# as an uninterrupted run would.
. /scenarios/lib.sh
load_module

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
cat /tmp/user/restored.status
cmp /tmp/user/caller.status /tmp/user/restored.status
grep -q '^Uid:	1000	1000	1000	1000$' /tmp/user/restored.status
grep -q '^CapEff:	0000000000000000$' /tmp/user/restored.status
echo "restore_unprivileged: all checks passed"
