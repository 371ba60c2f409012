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
    # On stderr: `must CMD > FILE` must not hide it in FILE.
    echo "FAIL: '$*' exited with status $must_rc" >&2
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

# roundtrip_in NAME K PROG ARGS...: roundtrip for a program whose first
# argument is its work directory: /tmp/NAME-ref for the uninterrupted run,
# /tmp/NAME-run for the one dumped, so the two never share files.
roundtrip_in() {
    ri_name=$1
    ri_k=$2
    ri_prog=$3
    shift 3
    mkdir -p "/tmp/$ri_name-ref" "/tmp/$ri_name-run"
    must "$ri_prog" "/tmp/$ri_name-ref" "$@" < /dev/null > "/tmp/$ri_name.ref"
    run_held "/tmp/$ri_name.in" "/tmp/$ri_name.run" "$ri_prog" --wait-at "$ri_k" "/tmp/$ri_name-run" "$@"
    checkpoint "$pid" "/tmp/$ri_name.run" "$ri_k" "/tmp/$ri_name.ckpt"
    must "/tmp/$ri_name.ckpt" < /dev/null
    same_output "/tmp/$ri_name.ref" "/tmp/$ri_name.run"
}

# no_names_in DIR WHAT: DIR is empty (a restore recreated WHAT without a
# name there); otherwise says what is there and ends the scenario.
no_names_in() {
    nn_left=$(ls -A "$1") || { echo "FAIL: ls $1"; exit 1; }
    if [ -n "$nn_left" ]; then
        echo "FAIL: $2: $1 holds names after the restore:"
        ls -la "$1"
        exit 1
    fi
}

# use_restorer module|userspace: the images of this scenario are restored
# by the kernel module (loaded; no binfmt_misc entry for them) or by
# ckpt-restore behind binfmt_misc (entry `chkpt`; the module unloaded).
# Restore scenarios take it as their argument (init runs NAME:RESTORER as
# NAME.sh RESTORER), so one scenario set runs under both.
use_restorer() {
    case "$1" in
    module)
        if [ -e /proc/sys/fs/binfmt_misc/chkpt ]; then
            must ckpt-writer binfmt-misc unregister --name chkpt
        fi
        load_module
        ;;
    userspace)
        if grep -q '^binfmt_chkpt ' /proc/modules; then must rmmod binfmt_chkpt; fi
        test -e /proc/sys/fs/binfmt_misc/register || must mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
        if [ ! -e /proc/sys/fs/binfmt_misc/chkpt ]; then
            must ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt
        fi
        RESTORER=userspace
        ;;
    *)
        echo "FAIL: which restorer? Run this scenario as $(basename "$0" .sh):module or :userspace, not '$1'"
        exit 2
        ;;
    esac
    echo "restorer: $RESTORER"
}

# expect_refusal REASON IMAGE [CMD...]: executing IMAGE (through CMD, e.g.
# run-as 1000 1000) is refused for REASON before the point of no return,
# and the caller goes on. The module: execve fails with REASON's errno and
# the kernel logs a line naming REASON; the userspace restorer: it exits
# with REASON's status and names REASON on stderr. The errno and the
# status are those of the one refusal table (ckpt-restore --refusal-table).
expect_refusal() {
    er_reason=$1
    er_image=$2
    shift 2
    if [ ! -s /tmp/refusal.table ] && ! ckpt-restore --refusal-table > /tmp/refusal.table; then
        echo "FAIL: ckpt-restore --refusal-table"
        exit 1
    fi
    er_row=$(grep "^$er_reason " /tmp/refusal.table || true)
    if [ -z "$er_row" ]; then echo "FAIL: $er_image: $er_reason is not in the refusal table"; exit 1; fi
    er_errno=$(echo "$er_row" | cut -d ' ' -f 2)
    er_status=$(echo "$er_row" | cut -d ' ' -f 3)
    er_log="binfmt_chkpt: $er_image: not restored: $er_reason "
    er_logged=$(dmesg | grep -c -F "$er_log" || true)
    set +e
    "$@" exec-errno "$er_image" < /dev/null > /tmp/refusal.out 2> /tmp/refusal.err
    er_got=$?
    set -e
    er_said="exit status $er_got, stdout '$(cat /tmp/refusal.out)', stderr '$(cat /tmp/refusal.err)'"
    case "$RESTORER" in
    module)
        if [ "$(cat /tmp/refusal.out)" != "$er_errno" ]; then
            echo "FAIL: module: $er_image: want $er_errno ($er_reason); $er_said"
            exit 1
        fi
        if [ "$(dmesg | grep -c -F "$er_log" || true)" -le "$er_logged" ]; then
            echo "FAIL: module: $er_image: $er_errno, but no new log line '$er_log':"
            dmesg | grep binfmt_chkpt | tail -n 2
            exit 1
        fi
        echo "module: $er_image: refused with $er_errno ($er_reason)"
        ;;
    userspace)
        if [ "$er_got" != "$er_status" ] || ! grep -q "^ckpt-restore: .*($er_reason)\$" /tmp/refusal.err; then
            echo "FAIL: userspace: $er_image: want status $er_status and '($er_reason)' on stderr; $er_said"
            exit 1
        fi
        echo "userspace: $er_image: refused with status $er_got: $(cat /tmp/refusal.err)"
        ;;
    *)
        echo "FAIL: expect_refusal without a restorer (use_restorer or load_module first)"
        exit 1
        ;;
    esac
}

# The module, loaded once for all the scenarios of a boot; it restores
# this scenario's images.
load_module() {
    grep -q '^binfmt_chkpt ' /proc/modules || must insmod /lib/modules/binfmt_chkpt.ko
    RESTORER=module
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

# run_watched UID IMAGE: executes IMAGE as UID (stdin at end of file,
# output dropped), killed with SIGKILL after 2 s. It must be gone 20 s
# after that (a watchdog, like the kernel's hung-task detector; the run is
# long over by then): if not, prints "unkillable" and each of its threads'
# stat line, wchan and kernel stack (which one holds the others) and
# returns 1. In the background, so that such a process is a finding, not
# a scenario waiting on it until the harness gives up.
run_watched() {
    run-as "$1" "$1" timeout -s KILL 2 exec-errno "$2" < /dev/null > /dev/null 2>&1 &
    watched=$!
    # busybox timeout execs the image in this very process; alive until it
    # is a zombie or reaped. (The state follows the last ")": a restored
    # comm may hold spaces.) Shell builtins only: a fork per poll cost a
    # second an image in the TCG guest.
    watched_alive() {
        { read -r line < "/proc/$watched/stat"; } 2>/dev/null || return 1
        s=${line##*") "}
        s=${s%% *}
        [ -n "$s" ] && [ "$s" != Z ]
    }
    i=0
    while watched_alive && [ "$i" -lt 220 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if watched_alive; then
        echo "unkillable: $2 (as uid $1) did not end after SIGKILL"
        for t in /proc/"$watched"/task/[0-9]*; do
            echo "=== FUZZ TASK $t: $(cat "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
            cat "$t/stack" 2>/dev/null
        done
        return 1
    fi
    wait "$watched" || true
}
