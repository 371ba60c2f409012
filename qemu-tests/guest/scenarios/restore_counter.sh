# A single-threaded counter, dumped and killed mid-run, restored by running
# the image (through the restorer named by the scenario's argument: module
# or userspace): it continues from where it stopped and prints exactly what
# an uninterrupted run prints. Then the same image again, twice at once,
# each writing to its own stdout (a pipe at dump time: the caller's is
# used).
. /scenarios/lib.sh
use_restorer "$1"

roundtrip counter 200 counter 1000 2000

# Same image, restored a second time: it continues from the same point.
must /tmp/counter.ckpt < /dev/null
same_output /tmp/counter.ref /tmp/counter.run

# Stdout a pipe: fds 0-2 are then the restoring caller's.
rm -f /tmp/counter.fifo
mkfifo /tmp/counter.fifo
cat /tmp/counter.fifo > /tmp/piped.head &
cat_pid=$!
run_held /tmp/piped.in /tmp/counter.fifo counter --wait-at 300 1000 2000
checkpoint "$pid" /tmp/piped.head 300 /tmp/piped.ckpt
wait "$cat_pid"
must /tmp/piped.ckpt < /dev/null > /tmp/piped.1 &
a=$!
must /tmp/piped.ckpt < /dev/null > /tmp/piped.2 &
b=$!
wait "$a"
wait "$b"
cat /tmp/piped.head /tmp/piped.1 > /tmp/piped.run1
cat /tmp/piped.head /tmp/piped.2 > /tmp/piped.run2
same_output /tmp/counter.ref /tmp/piped.run1
same_output /tmp/counter.ref /tmp/piped.run2
echo "restore_counter: all checks passed"
