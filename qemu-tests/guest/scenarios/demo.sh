# make demo: the checkpoint round trip. A counter runs, is dumped and killed;
# executing the image brings it back where it stopped.
. /scenarios/lib.sh
say() { echo; echo ">>> $*"; }

say "Loading binfmt_chkpt.ko"
insmod /lib/modules/binfmt_chkpt.ko
grep binfmt_chkpt /proc/modules

say "An uninterrupted run of: counter --wait-at 300 600 5000 (for comparison; stdin at end of file, so it does not stop)"
counter --wait-at 300 600 5000 < /dev/null > /tmp/uninterrupted.out
tail -n 1 /tmp/uninterrupted.out

say "Starting the same counter again (it prints a step every 100 iterations, and at step 300 waits for a byte on stdin)"
mkfifo /tmp/counter.in
counter --wait-at 300 600 5000 0<> /tmp/counter.in > /tmp/counter.out 2>&1 &
pid=$!
wait_line /tmp/counter.out '^waiting at 300'
tail -n 3 /tmp/counter.out

say "ckpt-writer dump $pid -o /tmp/saved.ckpt --kill"
ckpt-writer dump "$pid" -o /tmp/saved.ckpt --kill
ls -l /tmp/saved.ckpt
say "The last lines the original printed before it was killed"
tail -n 2 /tmp/counter.out

say "ckpt-writer inspect /tmp/saved.ckpt"
ckpt-writer inspect /tmp/saved.ckpt | head -n 30

say "./saved.ckpt (an ordinary execve; the module restores it as pid \$\$ of a new shell)"
cd /tmp
sh -c 'echo "restoring as pid $$"; exec ./saved.ckpt' < /dev/null
say "What the restored counter printed after it came back"
tail -n 4 /tmp/counter.out
if cmp -s /tmp/uninterrupted.out /tmp/counter.out; then
    say "The output is identical to the uninterrupted run's: $(tail -n 1 /tmp/counter.out)"
else
    say "The output differs from the uninterrupted run's!"
    exit 1
fi
