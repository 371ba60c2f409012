# A single-threaded counter, dumped and killed mid-run, restored by running
# the image: it continues from where it stopped and prints exactly what an
# uninterrupted run prints. Then the same image again, twice at once, each
# writing to its own stdout (a pipe at dump time: the caller's is used).
. /scenarios/lib.sh
load_module

roundtrip counter '^step 200 ' counter 1000 2000
pid_line=$(grep -c . /tmp/counter.run)

# Same image, restored a second time: it continues from the same point.
"/tmp/counter.ckpt"
same_output /tmp/counter.ref /tmp/counter.run

# Stdout a pipe: fds 0-2 are then the restoring caller's.
mkfifo /tmp/counter.fifo
cat /tmp/counter.fifo > /tmp/piped.head &
cat_pid=$!
counter 1000 2000 > /tmp/counter.fifo &
pid=$!
wait_line /tmp/piped.head '^step 300 '
ckpt-writer dump "$pid" -o /tmp/piped.ckpt --kill
wait "$pid" 2>/dev/null || true
wait "$cat_pid"
/tmp/piped.ckpt > /tmp/piped.1 &
a=$!
/tmp/piped.ckpt > /tmp/piped.2 &
b=$!
wait "$a"
wait "$b"
cat /tmp/piped.head /tmp/piped.1 > /tmp/piped.run1
cat /tmp/piped.head /tmp/piped.2 > /tmp/piped.run2
same_output /tmp/counter.ref /tmp/piped.run1
same_output /tmp/counter.ref /tmp/piped.run2
echo "restore_counter: all checks passed"
