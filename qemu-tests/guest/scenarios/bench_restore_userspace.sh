# Restore latency in one boot for 1 MiB and 256 MiB: execve of a static ELF,
# the module's restore, and binfmt_misc with the userspace restorer (an
# enabled binfmt_misc entry is tried before the module, which registered
# later; with the entry removed the module restores).
. /scenarios/lib.sh
load_module
RUNS=${RUNS:-15}
test -e /proc/sys/fs/binfmt_misc/register || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc


for mib in 1 256; do
    bench_image "$mib"
done
for mib in 1 256; do
    elf=$(exec-latency "$RUNS" "/usr/bin/bench-target-${mib}m")
    module=$(exec-latency "$RUNS" "/tmp/bench-$mib.ckpt")
    ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_bench
    user=$(exec-latency "$RUNS" "/tmp/bench-$mib.ckpt")
    ckpt-writer binfmt-misc unregister --name chkpt_bench
    echo "ELF:        $elf"
    echo "module:     $module"
    echo "userspace:  $user"
    e=$(echo "$elf" | median_us); m=$(echo "$module" | median_us); u=$(echo "$user" | median_us)
    echo "bench: $mib MiB: module/ELF = $(ratio "$m" "$e"), userspace/ELF = $(ratio "$u" "$e"), userspace/module = $(ratio "$u" "$m")"
done
echo "bench_restore_userspace: done"
