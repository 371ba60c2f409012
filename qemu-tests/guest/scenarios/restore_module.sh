# What only the kernel module does, after the restore scenarios of a boot
# ran through it: a restored process runs on the caller's ELF format (its
# core writer, kmod/README.md), so nothing of it needs the module: the
# module unloads while one runs, and the process goes on unharmed;
# nothing the restores and refusals before left behind keeps it busy.
. /scenarios/lib.sh
use_restorer module

run_held /tmp/mod.in /tmp/mod.out counter --wait-at 100,101 110 2000
checkpoint "$pid" /tmp/mod.out 100 /tmp/mod.ckpt
restore_held /tmp/mod.in /tmp/mod.out 101 /tmp/mod.ckpt
must rmmod binfmt_chkpt
if grep -q '^binfmt_chkpt ' /proc/modules; then
    echo "FAIL: the module is still loaded after rmmod"
    exit 1
fi
dmesg | grep -q 'binfmt_chkpt: unregistered' || { echo "FAIL: no 'unregistered' line in the kernel log"; exit 1; }
release /tmp/mod.in
must wait "$pid"
must grep -q '^result ' /tmp/mod.out
echo "restore_module: all checks passed"
