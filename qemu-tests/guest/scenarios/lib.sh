# Helpers the scenarios share: `. /scenarios/lib.sh`.

# wait_line FILE REGEX [PID]: until a line of FILE matches (120 s at most:
# a cap for a test that went wrong, never a pace the test relies on). With
# PID, fails at once if that process ended without printing the line.
wait_line() {
    i=0
    until grep -q "$2" "$1" 2>/dev/null; do
        if [ -n "$3" ] && ! kill -0 "$3" 2>/dev/null && ! grep -q "$2" "$1" 2>/dev/null; then
            echo "FAIL: pid $3 ended without printing '$2' into $1:"
            tail -n 5 "$1"
            exit 1
        fi
        sleep 0.1
        i=$((i + 1))
        if [ "$i" -gt 1200 ]; then echo "FAIL: never saw '$2' in $1:"; cat "$1"; exit 1; fi
    done
}

# Lines that differ between two runs of one program: addresses (ASLR), and
# wait points (test-programs/common.h: a reference run need not stop).
VARYING_LINES='^(handler|altstack|loop|region|waiting) '

# same_output REF RUN: the restored run printed what the uninterrupted one
# did (varying lines aside).
same_output() {
    grep -v -E "$VARYING_LINES" "$1" > "$1.cmp"
    grep -v -E "$VARYING_LINES" "$2" > "$2.cmp"
    if ! cmp -s "$1.cmp" "$2.cmp"; then
        echo "FAIL: $2 differs from the uninterrupted run $1"
        diff "$1.cmp" "$2.cmp" | head -n 20
        exit 1
    fi
    echo "$2: same output as the uninterrupted run: $(wc -l < "$2") lines, $(tail -n 1 "$2")"
}

# must CMD...: runs CMD; if it fails, says which command and its status
# (sh -e alone would end the scenario without a word).
must() {
    "$@" && return 0
    must_rc=$?
    echo "FAIL: '$*' exited with status $must_rc"
    exit 1
}

# run_held FIFO OUT CMD...: CMD in the background ($pid), stdout to OUT,
# stdin the FIFO opened read-write, so that it never reads end of file:
# each of CMD's wait points (test-programs/common.h) blocks until
# `release FIFO` writes a byte. The FIFO is opened here and handed down,
# so it is open from the fork on: a byte released at once is kept (a FIFO
# that nobody holds open drops what was written into it).
run_held() {
    rh_fifo=$1
    rh_out=$2
    shift 2
    rm -f "$rh_fifo"
    mkfifo "$rh_fifo"
    exec 9<>"$rh_fifo"
    "$@" 0<&9 9>&- > "$rh_out" &
    pid=$!
    exec 9>&-
}

# release FIFO: lets a program of run_held past one wait point (opened
# read-write, so this never blocks, even if nobody reads any more).
release() { printf x 1<>"$1"; }

# checkpoint PID OUT K IMAGE: once the program PID (stdout OUT) waits at
# step K, dumps it into IMAGE and kills it. A failed dump ends the
# scenario, with ckpt-writer's message.
checkpoint() {
    wait_line "$2" "^waiting at $3\$" "$1"
    if ! ckpt-writer dump "$1" -o "$4" --kill; then
        echo "FAIL: ckpt-writer could not dump pid $1 ($2, waiting at $3)"
        exit 1
    fi
    wait "$1" 2>/dev/null || true
}

# restore_held FIFO OUT K CMD...: CMD (the image, or a command that
# executes it) restores a program dumped at a wait point whose stdout is
# the file OUT, in the background ($pid) with stdin the FIFO; lets it past
# the wait point it was dumped at, and waits until it waits at step K.
restore_held() {
    rs_fifo=$1
    rs_out=$2
    rs_k=$3
    shift 3
    run_held "$rs_fifo" /dev/null "$@"
    release "$rs_fifo"
    wait_line "$rs_out" "^waiting at $rs_k\$" "$pid"
}

# roundtrip NAME K PROG ARGS...: PROG ARGS uninterrupted into /tmp/NAME.ref;
# PROG --wait-at K ARGS into /tmp/NAME.run, dumped and killed while it
# waits at step K, restored by executing the image with stdin at end of
# file (it goes on at once; stdout is a file: the image reopens it at its
# offset), and the two outputs compared.
roundtrip() {
    rt_name=$1
    rt_k=$2
    rt_prog=$3
    shift 3
    must "$rt_prog" "$@" < /dev/null > "/tmp/$rt_name.ref"
    run_held "/tmp/$rt_name.in" "/tmp/$rt_name.run" "$rt_prog" --wait-at "$rt_k" "$@"
    checkpoint "$pid" "/tmp/$rt_name.run" "$rt_k" "/tmp/$rt_name.ckpt"
    must "/tmp/$rt_name.ckpt" < /dev/null
    same_output "/tmp/$rt_name.ref" "/tmp/$rt_name.run"
}

# expect_refusal ERRNO REASON IMAGE [run-as UID GID]: executing IMAGE fails
# with ERRNO, the caller goes on, and the kernel log names REASON.
expect_refusal() {
    errno=$1
    reason=$2
    image=$3
    shift 3
    got=$("$@" exec-errno "$image" 2>/dev/null || true)
    if [ "$got" != "$errno" ]; then
        echo "FAIL: $image: want $errno, got '$got'"
        exit 1
    fi
    if ! dmesg | grep -q "binfmt_chkpt: $image: not restored: $reason "; then
        echo "FAIL: $image: no log line naming $reason"
        dmesg | grep binfmt_chkpt | tail -n 3
        exit 1
    fi
    echo "$image: refused with $errno ($reason)"
}

# The module, loaded once for all the scenarios of a boot.
load_module() {
    grep -q '^binfmt_chkpt ' /proc/modules || insmod /lib/modules/binfmt_chkpt.ko
}

# use_restorer: the restorer the scenario runs with, NAME:MODE on the
# command line (init): "module" (also the default) loads the module;
# "userspace" unloads it and registers /usr/bin/ckpt-restore with
# binfmt_misc, removed again when the scenario ends.
use_restorer() {
    case "$CKPT_RESTORER" in
    module | '') load_module ;;
    userspace)
        if grep -q '^binfmt_chkpt ' /proc/modules; then must rmmod binfmt_chkpt; fi
        test -e /proc/sys/fs/binfmt_misc/register || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
        ckpt-writer binfmt-misc unregister --name chkpt_scenario 2>/dev/null || true
        must ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_scenario
        trap 'ckpt-writer binfmt-misc unregister --name chkpt_scenario' EXIT
        ;;
    *)
        echo "FAIL: unknown restorer '$CKPT_RESTORER' (module or userspace)"
        exit 1
        ;;
    esac
}

# bench_image MIB: /tmp/bench-MIB.ckpt, an image of bench-target-MIBm with
# all its memory written, stopped in read(0). Its stdin and stdout are
# FIFOs (held open read-write by fds 3 and 4, so opening them does not
# block), so the image inherits fds 0 and 1 from whoever runs it.
bench_image() {
    rm -f "/tmp/bench-$1.in" "/tmp/bench-$1.out"   # another bench scenario of this boot
    mkfifo "/tmp/bench-$1.in" "/tmp/bench-$1.out"
    exec 3<>"/tmp/bench-$1.in" 4<>"/tmp/bench-$1.out"
    "bench-target-${1}m" prepare < "/tmp/bench-$1.in" > "/tmp/bench-$1.out" 2> "/tmp/bench-$1.ready" 3>&- 4>&- &
    bench_pid=$!
    wait_line "/tmp/bench-$1.ready" '^ready'
    must ckpt-writer dump "$bench_pid" -o "/tmp/bench-$1.ckpt" --kill
    wait "$bench_pid" 2>/dev/null || true
    exec 3>&- 4>&-
}

# The median from exec-latency's line, in microseconds.
median_us() { sed -n 's/.*median \([0-9]*\) us.*/\1/p'; }

# ratio A B: A/B with two decimals, integers only (busybox sh).
ratio() { r=$(($1 * 100 / $2)); echo "$((r / 100)).$(printf %02d $((r % 100)))"; }
