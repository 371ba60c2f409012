# A single-threaded counter, dumped and killed mid-run, restored by running
# the image: it continues from where it stopped and prints exactly what an
# uninterrupted run prints.
. /scenarios/lib.sh
insmod /lib/modules/binfmt_chkpt.ko

counter 1000 2000 > /tmp/ref.out
counter 1000 2000 > /tmp/run.out &
pid=$!
wait_line /tmp/run.out '^step 200 '
ckpt-writer dump "$pid" -o /tmp/counter.ckpt --kill
wait "$pid" || true
lines_at_dump=$(wc -l < /tmp/run.out)
/tmp/counter.ckpt
same_output /tmp/ref.out /tmp/run.out
test "$lines_at_dump" -lt "$(wc -l < /tmp/run.out)"
dmesg | grep binfmt_chkpt | tail -n 3
echo "restore_counter: all checks passed"
