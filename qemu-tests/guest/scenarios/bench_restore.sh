# make bench (restore part): time from execve until the program's own code
# runs, for a restored image and for a static ELF with the same amount of
# memory, 1 MiB and 256 MiB, measured back to back in one boot.
. /scenarios/lib.sh
load_module
RUNS=${RUNS:-15}

for mib in 1 256; do
    bench_image "$mib"
done
for mib in 1 256; do
    elf=$(exec-latency "$RUNS" "/usr/bin/bench-target-${mib}m")
    img=$(exec-latency "$RUNS" "/tmp/bench-$mib.ckpt")
    echo "$elf"
    echo "$img"
    e=$(echo "$elf" | median_us)
    i=$(echo "$img" | median_us)
    echo "bench: $mib MiB: restore/ELF = $(ratio "$i" "$e") (image $(stat -c %s /tmp/bench-$mib.ckpt) bytes)"
done
echo "bench_restore: done"
