# What only the kernel module does, after the restore scenarios of a boot
# ran through it: a restored process holds a reference on the module (no
# unload while one runs), and once it ended, the module unloads: nothing
# the restores and refusals before left behind keeps it busy.
. /scenarios/lib.sh
use_restorer module

run_held /tmp/mod.in /tmp/mod.out counter --wait-at 100,101 110 2000
checkpoint "$pid" /tmp/mod.out 100 /tmp/mod.ckpt
restore_held /tmp/mod.in /tmp/mod.out 101 /tmp/mod.ckpt
if rmmod binfmt_chkpt; then
    echo "FAIL: the module unloaded while a process it restored runs"
    exit 1
fi
grep -q '^binfmt_chkpt ' /proc/modules
release /tmp/mod.in
must wait "$pid"
must rmmod binfmt_chkpt
dmesg | grep -q 'binfmt_chkpt: unregistered'
echo "restore_module: all checks passed"
