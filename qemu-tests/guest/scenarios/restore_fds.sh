# File descriptors that share open file descriptions, and pipes
# (test-programs/fdshare.c: one offset for four fds of one file, a pipe
# with both ends and 12 queued bytes, a read end whose writer is gone, a
# write end whose reader is gone, a dup of stdout), dumped at a wait point,
# killed, restored by executing the image through the restorer named by the
# scenario's argument, and compared with an uninterrupted run; fdshare
# checks each fd itself and exits non-zero if one is off. Then the same for
# eventfd, signalfd, timerfd and epoll (fdevents); unix socket pairs
# (sockpair); pty pairs (ptys).
. /scenarios/lib.sh
use_restorer "$1"

mkdir -p /tmp/fds-ref /tmp/fds-run
must fdshare /tmp/fds-ref < /dev/null > /tmp/fds.ref
run_held /tmp/fds.in /tmp/fds.run fdshare --wait-at 1 /tmp/fds-run
wait_line /tmp/fds.run '^waiting at 1$' "$pid"
if ! ckpt-writer dump "$pid" -o /tmp/fds.ckpt --kill 2> /tmp/fds.dump; then
    echo "FAIL: ckpt-writer could not dump fdshare:"
    cat /tmp/fds.dump
    exit 1
fi
wait "$pid" 2>/dev/null || true
# The dump summary names the pipe ends whose peer is gone.
for want in 'fd 7: pipe read end whose write end is not in the process' \
            'fd 8: pipe write end whose read end is not in the process'; do
    grep -q "$want" /tmp/fds.dump || { echo "FAIL: no '$want' in the dump summary:"; cat /tmp/fds.dump; exit 1; }
done
must /tmp/fds.ckpt < /dev/null
same_output /tmp/fds.ref /tmp/fds.run
grep -q '^result ok$' /tmp/fds.run

# eventfd, signalfd, timerfd and epoll (test-programs/fdevents.c checks
# each: counts, the signal, the timers, which epoll entries are ready).
must fdevents < /dev/null > /tmp/fdevents.ref
run_held /tmp/fdevents.in /tmp/fdevents.run fdevents --wait-at 1
checkpoint "$pid" /tmp/fdevents.run 1 /tmp/fdevents.ckpt
must /tmp/fdevents.ckpt < /dev/null
same_output /tmp/fdevents.ref /tmp/fdevents.run
grep -q '^result ok$' /tmp/fdevents.run
# Unix socket pairs (test-programs/sockpair.c checks the bytes queued at
# each end of a stream pair, a dup'ed nonblocking end, an empty seqpacket
# pair). The guest kernel has CONFIG_UNIX_DIAG, which names the peers.
must sockpair < /dev/null > /tmp/sockpair.ref
run_held /tmp/sockpair.in /tmp/sockpair.run sockpair --wait-at 1
checkpoint "$pid" /tmp/sockpair.run 1 /tmp/sockpair.ckpt
must /tmp/sockpair.ckpt < /dev/null
same_output /tmp/sockpair.ref /tmp/sockpair.run
grep -q '^result ok$' /tmp/sockpair.run
# pty pairs (test-programs/ptys.c checks the slave's termios, window
# size, packet mode, lock, exclusive mode and flags, and bytes through
# the new pair both ways, echo included); the guest mounts devpts.
must ptys pairs < /dev/null > /tmp/ptys.ref
run_held /tmp/ptys.in /tmp/ptys.run ptys --wait-at 1 pairs
checkpoint "$pid" /tmp/ptys.run 1 /tmp/ptys.ckpt
ckpt-writer inspect /tmp/ptys.ckpt > /tmp/ptys.inspect
grep -q 'pty master 1 (slave /dev/pts/.* 33x101 (7x9 pixels), raw, echo' /tmp/ptys.inspect || { echo "FAIL: no pty master in:"; cat /tmp/ptys.inspect; exit 1; }
must /tmp/ptys.ckpt < /dev/null
same_output /tmp/ptys.ref /tmp/ptys.run
grep -q '^result ok$' /tmp/ptys.run
echo "restore_fds: all checks passed"
