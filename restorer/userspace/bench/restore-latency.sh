#!/usr/bin/env bash
# restore-latency.sh WRITER RESTORER PROGRAMS_DIR EXEC_LATENCY [RUNS]
#
# make bench-userspace: on this machine's kernel, the time from execve until
# the program's own code runs, for a static ELF with 1 MiB and 256 MiB of
# written memory (test-programs/bench-target) and for images of the same
# programs restored through binfmt_misc by the userspace restorer, measured
# back to back in one run (qemu-tests/guest/bin/exec-latency). Needs root
# (ptrace, binfmt_misc); the binfmt_misc entry is removed on exit.
set -euo pipefail
writer=$1 restorer=$2 programs=$3 latency=$4 runs=${5:-15}
work=$(mktemp -d /tmp/ckpt-bench.XXXXXX)
chmod 755 "$work"
name=chkpt_bench_$$
cleanup() {
    "$writer" binfmt-misc unregister --name "$name" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
test -e /proc/sys/fs/binfmt_misc/register || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
"$writer" binfmt-misc register --restorer "$restorer" --name "$name" 2>/dev/null

wait_line() {
    for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "never saw '$2' in $1" >&2; exit 1
}

for mib in 1 256; do
    # FIFOs held open read-write by fds 3 and 4 so that opening them does
    # not block; the target waits in read(0), the image inherits fds 0-1.
    mkfifo "$work/$mib.in" "$work/$mib.out"
    exec 3<>"$work/$mib.in" 4<>"$work/$mib.out"
    "$programs/bench-target-${mib}m" prepare < "$work/$mib.in" > "$work/$mib.out" 2> "$work/$mib.ready" 3>&- 4>&- &
    pid=$!
    wait_line "$work/$mib.ready" '^ready'
    # --allow-unsupported: fds the caller leaked into the target are closed.
    "$writer" dump "$pid" -o "$work/bench-$mib.ckpt" --kill -q --allow-unsupported
    wait "$pid" 2>/dev/null || true
    exec 3>&- 4>&-
done

median_us() { sed -n 's/.*median \([0-9]*\) us.*/\1/p'; }
for mib in 1 256; do
    elf=$("$latency" "$runs" "$programs/bench-target-${mib}m")
    img=$("$latency" "$runs" "$work/bench-$mib.ckpt")
    echo "ELF   $mib MiB: $elf"
    echo "image $mib MiB: $img (binfmt_misc + ckpt-restore, $(stat -c %s "$work/bench-$mib.ckpt") bytes)"
    e=$(echo "$elf" | median_us)
    i=$(echo "$img" | median_us)
    r=$((i * 100 / (e > 0 ? e : 1)))
    echo "bench-userspace: $mib MiB: restore/ELF = $((r / 100)).$(printf %02d $((r % 100)))"
done
