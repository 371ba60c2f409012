# Helpers the restore scenarios share: `. /scenarios/lib.sh`.

# wait_line FILE REGEX: until a line of FILE matches (30 s at most).
wait_line() {
    i=0
    until grep -q "$2" "$1" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
        if [ "$i" -gt 300 ]; then echo "never saw '$2' in $1:"; cat "$1"; exit 1; fi
    done
}


# Lines that hold addresses, which differ between two runs (ASLR).
ADDRESS_LINES='^(handler|altstack|loop|region) '

# same_output REF RUN: the restored run printed what the uninterrupted one
# did (address lines aside).
same_output() {
    grep -v -E "$ADDRESS_LINES" "$1" > "$1.cmp"
    grep -v -E "$ADDRESS_LINES" "$2" > "$2.cmp"
    if ! cmp -s "$1.cmp" "$2.cmp"; then
        echo "FAIL: $2 differs from the uninterrupted run $1"
        diff "$1.cmp" "$2.cmp" | head -n 20
        exit 1
    fi
    echo "$2: same output as the uninterrupted run: $(wc -l < "$2") lines, $(tail -n 1 "$2")"
}

# roundtrip NAME REGEX CMD...: CMD uninterrupted into /tmp/NAME.ref; CMD
# again into /tmp/NAME.run, dumped and killed once a line matches REGEX,
# restored by executing the image (stdout is a file: the image reopens it
# at its offset), and the two outputs compared.
roundtrip() {
    name=$1
    pattern=$2
    shift 2
    "$@" > "/tmp/$name.ref"
    "$@" > "/tmp/$name.run" &
    rt_pid=$!
    wait_line "/tmp/$name.run" "$pattern"
    ckpt-writer dump "$rt_pid" -o "/tmp/$name.ckpt" --kill
    wait "$rt_pid" 2>/dev/null || true
    "/tmp/$name.ckpt"
    same_output "/tmp/$name.ref" "/tmp/$name.run"
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
