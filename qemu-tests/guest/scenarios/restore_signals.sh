# Signals pending at dump time: pendsig blocks them and queues SIGCHLD,
# SIGUSR1 and SIGRTMIN+2 three times (process queue), SIGUSR2 and
# SIGRTMIN+5 to each of its two threads (their own queues); dumped and
# killed with all of them pending, restored by executing the image with the
# restorer the scenario runs as (restore_signals:module or
# restore_signals:userspace). After restore each arrives once per
# queueing, with its siginfo, in order, in its thread (pendsig checks
# that and exits 1 if not), as in an uninterrupted run.
# Timers: ptimers arms the itimers and POSIX timers (ids 0, 1, 3 with 2
# deleted, one aimed at its second thread); after restore each is armed
# with its interval and no more time left, the ids are kept (on 6.12 by
# creating timers in id order), and they fire with their values in the
# right thread (ptimers checks that). membarrier: membar's registrations
# come back and its expedited commands succeed (membar checks that).
. /scenarios/lib.sh
use_restorer "$1"

roundtrip pendsig 1 pendsig
grep -q '^result OK$' /tmp/pendsig.run
# The restorer runs with every signal blocked until each thread's own mask
# is installed, but never SIGKILL or SIGSTOP, which no program may block: a
# restore that waits (a thread that failed its setup core-dumps while the
# others wait for it) must still end on kill -9. The image is stopped where
# it starts (ptrace's exec stop) and its mask read.
must exec-sigblk /tmp/pendsig.ckpt < /dev/null
ckpt-writer inspect /tmp/pendsig.ckpt > /tmp/pendsig.inspect
must grep -q '^pending signals (10):$' /tmp/pendsig.inspect
roundtrip ptimers 1 ptimers
grep -q '^result OK$' /tmp/ptimers.run
ckpt-writer inspect /tmp/ptimers.ckpt > /tmp/ptimers.inspect
must grep -q '^timers (5):$' /tmp/ptimers.inspect
roundtrip membar 1 membar
grep -q '^result OK$' /tmp/membar.run
echo "restore_signals ($RESTORER): all checks passed"
