# Restore latency in one boot for 1 MiB and 256 MiB: execve of a static ELF,
# the module's restore, and binfmt_misc with the userspace restorer (an
# enabled binfmt_misc entry is tried before the module, which registered
# later; with the entry removed the module restores).
. /scenarios/lib.sh
load_module
RUNS=${RUNS:-15}
test -e /proc/sys/fs/binfmt_misc/register || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc

median_us() { sed -n 's/.*median \([0-9]*\) us.*/\1/p'; }
ratio() { r=$(($1 * 100 / $2)); echo "$((r / 100)).$(printf %02d $((r % 100)))"; }

for mib in 1 256; do
    mkfifo "/tmp/bench-$mib.in" "/tmp/bench-$mib.out"
    exec 3<>"/tmp/bench-$mib.in" 4<>"/tmp/bench-$mib.out"
    "bench-target-${mib}m" prepare < "/tmp/bench-$mib.in" > "/tmp/bench-$mib.out" 2> "/tmp/bench-$mib.ready" 3>&- 4>&- &
    pid=$!
    wait_line "/tmp/bench-$mib.ready" '^ready'
    ckpt-writer dump "$pid" -o "/tmp/bench-$mib.ckpt" --kill 2>&1 | tail -n 1
    wait "$pid" 2>/dev/null || true
    exec 3>&- 4>&-
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
