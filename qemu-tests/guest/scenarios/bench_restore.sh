# make bench (restore part): time from execve until the program's own code
# runs, for a restored image and for a static ELF with the same amount of
# memory, 1 MiB and 256 MiB, measured back to back in one boot.
. /scenarios/lib.sh
load_module
RUNS=${RUNS:-15}

median_us() { sed -n 's/.*median \([0-9]*\) us.*/\1/p'; }

for mib in 1 256; do
    # stdin and stdout FIFOs (held open read-write by fds 3 and 4, so
    # opening them does not block): the target waits in read(0), and the
    # image inherits fds 0 and 1 from whoever runs it.
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
    img=$(exec-latency "$RUNS" "/tmp/bench-$mib.ckpt")
    echo "$elf"
    echo "$img"
    e=$(echo "$elf" | median_us)
    i=$(echo "$img" | median_us)
    r=$((i * 100 / e))
    echo "bench: $mib MiB: restore/ELF = $((r / 100)).$(printf %02d $((r % 100))) (image $(stat -c %s /tmp/bench-$mib.ckpt) bytes)"
done
echo "bench_restore: done"
