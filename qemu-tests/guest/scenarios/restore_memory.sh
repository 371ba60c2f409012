# Memory: 256 MiB of patterned private memory with holes (never-touched
# pages and pages dropped with MADV_DONTNEED) comes back exactly, and is
# mapped from the image on demand rather than read in at exec time. Then a
# restored process is dumped again, the first image deleted, and the second
# image restored: it must hold the memory, not refer to the first image.
. /scenarios/lib.sh
load_module

bigmem 256 200 50000 > /tmp/bigmem.ref
bigmem 256 200 50000 > /tmp/bigmem.run &
pid=$!
wait_line /tmp/bigmem.run '^step 10$'
ckpt-writer dump "$pid" -o /tmp/bigmem.ckpt --kill
wait "$pid" 2>/dev/null || true
ls -l /tmp/bigmem.ckpt
/tmp/bigmem.ckpt &
pid=$!
wait_line /tmp/bigmem.run '^step 30$'
# Lazy: the stored pages are mappings of the image file, and only what the
# program touched since (about a tenth of its memory) is resident.
grep -c bigmem.ckpt "/proc/$pid/maps" | sed 's/^/mappings of the image: /'
test "$(grep -c bigmem.ckpt "/proc/$pid/maps")" -gt 0
rss_kib=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
echo "resident 20 steps after restore: $rss_kib KiB"
test "$rss_kib" -lt $((128 * 1024))
wait "$pid"
same_output /tmp/bigmem.ref /tmp/bigmem.run

# A checkpoint of a restored process.
counter 1500 2000 > /tmp/again.ref
counter 1500 2000 > /tmp/again.run &
pid=$!
wait_line /tmp/again.run '^step 200 '
ckpt-writer dump "$pid" -o /tmp/first.ckpt --kill
wait "$pid" 2>/dev/null || true
/tmp/first.ckpt &
pid=$!
wait_line /tmp/again.run '^step 600 '
# The module's module reference follows the restored process: no unload.
! rmmod binfmt_chkpt 2>/dev/null
grep -q first.ckpt "/proc/$pid/maps"
ckpt-writer dump "$pid" -o /tmp/second.ckpt --kill
wait "$pid" 2>/dev/null || true
rm /tmp/first.ckpt
! ckpt-writer inspect /tmp/second.ckpt | grep -q first.ckpt
/tmp/second.ckpt
same_output /tmp/again.ref /tmp/again.run
echo "restore_memory: all checks passed"
