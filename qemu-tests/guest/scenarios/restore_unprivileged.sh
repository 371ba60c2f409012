# An unprivileged user dumps their own process and restores it: it runs
# with exactly the caller's uid, gids and (no) capabilities, and continues
# as an uninterrupted run would; through the restorer named by the
# scenario's argument.
. /scenarios/lib.sh
use_restorer "$1"

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
cat /tmp/user/restored.status
cmp /tmp/user/caller.status /tmp/user/restored.status
grep -q '^Uid:	1000	1000	1000	1000$' /tmp/user/restored.status
grep -q '^CapEff:	0000000000000000$' /tmp/user/restored.status
echo "restore_unprivileged: all checks passed"
