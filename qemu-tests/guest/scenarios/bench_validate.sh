# Times the module on the largest metadata the format allows (mutate-image
# maximal: 65,536 regions and fds, 16,384 threads, 64 MiB of metadata) with
# an XCR0 no CPU has, so that the exec is refused right after validation
# (cpu-missing-features): the time is reading plus validating. Reading
# alone (cat from the page cache) is timed beside it. Numbers: kmod/README.md.
. /scenarios/lib.sh
load_module

uptime_cs() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }

counter 100000 2000 > /tmp/v.out &
pid=$!
wait_line /tmp/v.out '^ready'
ckpt-writer dump "$pid" -o /tmp/v.ckpt --kill
wait "$pid" 2>/dev/null || true
mutate-image maximal /tmp/v.ckpt /tmp/max.ckpt
chmod 755 /tmp/max.ckpt
for i in 1 2 3; do
    t0=$(uptime_cs)
    cat /tmp/max.ckpt > /dev/null
    t1=$(uptime_cs)
    expect_refusal cpu-missing-features /tmp/max.ckpt
    t2=$(uptime_cs)
    echo "bench: maximal image ($(stat -c %s /tmp/max.ckpt) bytes): read $(((t1 - t0) * 10)) ms, exec refused after validation $(((t2 - t1) * 10)) ms"
done
rmmod binfmt_chkpt
echo "bench_validate: done"
