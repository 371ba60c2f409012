# make demo: the checkpoint round trip. A counter runs, is dumped and killed;
# executing the image brings it back where it stopped.
say() { echo; echo ">>> $*"; }

say "Loading binfmt_chkpt.ko"
insmod /lib/modules/binfmt_chkpt.ko
grep binfmt_chkpt /proc/modules

say "An uninterrupted run of: counter 600 5000 (for comparison)"
counter 600 5000 > /tmp/uninterrupted.out
tail -n 1 /tmp/uninterrupted.out

say "Starting the same counter again (it prints a step every 100 iterations)"
counter 600 5000 > /tmp/counter.out 2>&1 &
pid=$!
sleep 3
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
sh -c 'echo "restoring as pid $$"; exec ./saved.ckpt'
say "What the restored counter printed after it came back"
tail -n 4 /tmp/counter.out
if cmp -s /tmp/uninterrupted.out /tmp/counter.out; then
    say "The output is identical to the uninterrupted run's: $(tail -n 1 /tmp/counter.out)"
else
    say "The output differs from the uninterrupted run's!"
    exit 1
fi
