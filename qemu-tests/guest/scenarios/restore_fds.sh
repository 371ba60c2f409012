# File descriptors that share open file descriptions, and pipes
# (test-programs/fdshare.c: one offset for four fds of one file, a pipe
# with both ends and 12 queued bytes, a read end whose writer is gone, a
# write end whose reader is gone, a dup of stdout), dumped at a wait point,
# killed, restored through the module (executing the image) and through
# the userspace restorer (ckpt-restore IMAGE), and compared with an
# uninterrupted run; fdshare checks each fd itself and exits non-zero if
# one is off. Then the same for eventfd, signalfd, timerfd and epoll.
. /scenarios/lib.sh
load_module

mkdir -p /tmp/fds-ref /tmp/fds-module /tmp/fds-userspace
must fdshare /tmp/fds-ref < /dev/null > /tmp/fds.ref
for how in module userspace; do
    run_held "/tmp/fds-$how.in" "/tmp/fds-$how.run" fdshare --wait-at 1 "/tmp/fds-$how"
    wait_line "/tmp/fds-$how.run" '^waiting at 1$' "$pid"
    if ! ckpt-writer dump "$pid" -o "/tmp/fds-$how.ckpt" --kill 2> "/tmp/fds-$how.dump"; then
        echo "FAIL: ckpt-writer could not dump fdshare ($how):"
        cat "/tmp/fds-$how.dump"
        exit 1
    fi
    wait "$pid" 2>/dev/null || true
    # The dump summary names the pipe ends whose peer is gone.
    for want in 'fd 7: pipe read end whose write end is not in the process' \
                'fd 8: pipe write end whose read end is not in the process'; do
        grep -q "$want" "/tmp/fds-$how.dump" || { echo "FAIL: no '$want' in the dump summary:"; cat "/tmp/fds-$how.dump"; exit 1; }
    done
    if [ "$how" = module ]; then
        must "/tmp/fds-$how.ckpt" < /dev/null
    else
        must ckpt-restore "/tmp/fds-$how.ckpt" < /dev/null
    fi
    same_output /tmp/fds.ref "/tmp/fds-$how.run"
    grep -q '^result ok$' "/tmp/fds-$how.run"
done
# eventfd, signalfd, timerfd and epoll (test-programs/fdevents.c checks
# each: counts, the signal, the timers, which epoll entries are ready).
must fdevents < /dev/null > /tmp/fdevents.ref
for how in module userspace; do
    run_held "/tmp/fdevents-$how.in" "/tmp/fdevents-$how.run" fdevents --wait-at 1
    checkpoint "$pid" "/tmp/fdevents-$how.run" 1 "/tmp/fdevents-$how.ckpt"
    if [ "$how" = module ]; then
        must "/tmp/fdevents-$how.ckpt" < /dev/null
    else
        must ckpt-restore "/tmp/fdevents-$how.ckpt" < /dev/null
    fi
    same_output /tmp/fdevents.ref "/tmp/fdevents-$how.run"
    grep -q '^result ok$' "/tmp/fdevents-$how.run"
done
echo "restore_fds: all checks passed"
