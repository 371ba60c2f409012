# Fuzzes the module with mutated images (qemu-tests/src/mutate.rs), each
# executed by an unprivileged user in a child with a timeout. After each
# image, the kernel log is checked for a new warning, oops, KASAN or
# lockdep report, hang or leak; an image that caused one is printed
# (base64, between markers) so the host can save it as a reproducer.
# ckpt.fuzz_seconds=N on the kernel command line runs batches for N
# seconds; without it, one batch of ckpt.fuzz_count (default 300) images.
# ckpt.fuzz_seed=N numbers the first batch (each batch's mutations follow
# from its number), so campaigns can cover new ground.
. /scenarios/lib.sh
load_module

arg() { sed -n "s/.*ckpt\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
seconds=$(arg fuzz_seconds)
count=$(arg fuzz_count)
count=${count:-300}

# Seed images: real processes of the unprivileged user, so that mutated
# images get past the permission checks and into the deeper ones. Each is
# dumped while it waits at a wait point (test-programs/common.h), near its
# end, so that a restored one (stdin at end of file) finishes quickly.
mkdir -p /tmp/fz
chown 1000:1000 /tmp/fz
cat > /tmp/fz/seeds.sh <<'INNER'
. /scenarios/lib.sh
cd /tmp/fz
seed() {
    name=$1
    k=$2
    prog=$3
    shift 3
    run_held "/tmp/fz/$name.in" "/tmp/fz/$name.out" "$prog" --wait-at "$k" "$@"
    checkpoint "$pid" "/tmp/fz/$name.out" "$k" "/tmp/fz/$name.ckpt"
}
seed counter 100 counter 110 1000
seed counter-dynamic 100 counter-dynamic 110 1000
seed threads8 9 threads8 300 1000
seed signals 100 signals 110 1000
# One seed for each kind of file and signal state (FILES, FILE_DATA,
# EPOLL, PENDING_SIGNALS, TIMERS, membarrier), so mutations reach their
# checks and the stub's creators.
mkdir -p /tmp/fz/fdshare-dir
seed fdshare 1 fdshare /tmp/fz/fdshare-dir
seed fdevents 1 fdevents
seed sockpair 1 sockpair
seed pendsig 1 pendsig
seed ptimers 1 ptimers
seed membar 1 membar
INNER
must run-as 1000 1000 sh -e /tmp/fz/seeds.sh
ls /tmp/fz/*.ckpt

# Kernel problems only, as the harness counts them (console.rs): a restored
# process that faults in user mode ("traps: ... general protection fault",
# "segfault at") is the image's own business, as for a broken ELF.
PROBLEMS='BUG:|Oops|WARNING:|Kernel panic|KASAN|possible circular locking|possible recursive locking|lockdep is turned off|DEBUG_LOCKS_WARN_ON|non-static key|detected stall|RCU stall|soft lockup|blocked for more than|unreferenced object|UBSAN'
# Only what each image adds to the log is looked at: dmesg -c reads and
# clears (counting matches in the whole ring buffer went wrong when old
# lines rotated out).
dmesg -c > /dev/null
executed=0
findings=0
batch=$(arg fuzz_seed)
batch=${batch:-0}
start=$(date +%s)
while :; do
    rm -rf /tmp/fz/batch
    fuzz-images "$count" "$batch" /tmp/fz/batch /tmp/fz/*.ckpt
    chmod 755 /tmp/fz/batch
    for img in /tmp/fz/batch/*.ckpt; do
        # A restored process SIGKILL cannot end (a task stuck in the
        # kernel) is a finding too (lib.sh).
        run_watched 1000 "$img" > /tmp/fz/stuck.txt || true
        executed=$((executed + 1))
        dmesg -c | grep -E "$PROBLEMS" > /tmp/fz/problem.txt || true
        if [ -s /tmp/fz/problem.txt ] || [ -s /tmp/fz/stuck.txt ]; then
            findings=$((findings + 1))
            echo "=== FUZZ FINDING $(basename "$img"): $(grep "$img" /tmp/fz/batch/index.txt)"
            head -n 5 /tmp/fz/problem.txt
            cat /tmp/fz/stuck.txt
            echo "=== FUZZ IMAGE BEGIN $(basename "$img")"
            base64 "$img"
            echo "=== FUZZ IMAGE END"
        fi
    done
    batch=$((batch + 1))
    if [ -z "$seconds" ] || [ $(( $(date +%s) - start )) -ge "$seconds" ]; then
        break
    fi
done
# Nothing a mutated image started may outlive its timeout. Each image ran
# as busybox timeout's own process (reaped by this shell); timeout's watcher
# process checks once a second whether it is gone: wait for the watchers
# to end (60 s at most), then nothing of the fuzzing user may be left.
i=0
while ps -o user,comm | grep -q -E '^ *(1000|user) +timeout' && [ "$i" -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
done
if ps -o user,comm | grep -E '^ *(1000|user) ' | grep -v -E 'ps|grep'; then
    echo "FAIL: processes of the fuzzing user are left"
    exit 1
fi
echo "fuzz: $executed images executed in $(( $(date +%s) - start )) s, $findings findings"
if [ "$findings" -ne 0 ]; then echo "FAIL: $findings images caused kernel problems"; exit 1; fi
echo "fuzz_kmod: all checks passed"
