# Memory: 256 MiB of patterned private memory with holes (never-touched
# pages and pages dropped with MADV_DONTNEED) comes back exactly, and is
# mapped from the image on demand rather than read in at exec time. Then a
# restored process is dumped again, the first image deleted, and the second
# image restored: it must hold the memory, not refer to the first image.
# Through the restorer named by the scenario's argument.
. /scenarios/lib.sh
use_restorer "$1"

must bigmem 256 200 50000 < /dev/null > /tmp/bigmem.ref
run_held /tmp/bigmem.in /tmp/bigmem.run bigmem --wait-at 10,30 256 200 50000
checkpoint "$pid" /tmp/bigmem.run 10 /tmp/bigmem.ckpt
ls -l /tmp/bigmem.ckpt
restore_held /tmp/bigmem.in /tmp/bigmem.run 30 /tmp/bigmem.ckpt
# Lazy: the stored pages are mappings of the image file, and only what the
# program touched since (about a tenth of its memory) is resident.
grep -c bigmem.ckpt "/proc/$pid/maps" | sed 's/^/mappings of the image: /'
test "$(grep -c bigmem.ckpt "/proc/$pid/maps")" -gt 0
rss_kib=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
echo "resident 20 steps after restore: $rss_kib KiB"
test "$rss_kib" -lt $((128 * 1024))
release /tmp/bigmem.in
must wait "$pid"
same_output /tmp/bigmem.ref /tmp/bigmem.run

# A checkpoint of a restored process whose memory is partly mapped from
# its image: 16 MiB, above the copy budget (4 MiB; a smaller process has
# all its pages copied in).
must bigmem 16 60 5000 < /dev/null > /tmp/again.ref
run_held /tmp/again.in /tmp/again.run bigmem --wait-at 10,30 16 60 5000
checkpoint "$pid" /tmp/again.run 10 /tmp/first.ckpt
restore_held /tmp/again.in /tmp/again.run 30 /tmp/first.ckpt
must grep -q first.ckpt "/proc/$pid/maps"
checkpoint "$pid" /tmp/again.run 30 /tmp/second.ckpt
rm /tmp/first.ckpt
# (`!` would not fail a `sh -e` script.)
if ckpt-writer inspect /tmp/second.ckpt | grep first.ckpt; then echo "FAIL: the second image refers to the first"; exit 1; fi
must /tmp/second.ckpt < /dev/null
same_output /tmp/again.ref /tmp/again.run
echo "restore_memory: all checks passed"
