# make demo: the checkpoint round trip, as far as it works today.
say() { echo; echo ">>> $*"; }

say "Loading binfmt_chkpt.ko"
insmod /lib/modules/binfmt_chkpt.ko
grep binfmt_chkpt /proc/modules

say "Starting a counter (it prints a step every 100 iterations)"
counter 1000000 2000 > /tmp/counter.out 2>&1 &
pid=$!
sleep 3
tail -n 3 /tmp/counter.out

say "ckpt-writer dump $pid -o /tmp/saved.ckpt --kill"
ckpt-writer dump "$pid" -o /tmp/saved.ckpt --kill
ls -l /tmp/saved.ckpt
say "The last numbers the original printed before it was killed"
tail -n 2 /tmp/counter.out

say "ckpt-writer inspect /tmp/saved.ckpt"
ckpt-writer inspect /tmp/saved.ckpt | head -n 40

say "./saved.ckpt (restore on execve)"
cd /tmp
set +e
./saved.ckpt
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    say "NOT THERE YET: the module recognised and validated the image, but restoring it is not implemented yet (issue 5). The kernel said:"
    dmesg | grep 'binfmt_chkpt: /tmp/saved.ckpt' | tail -n 1
fi
