# Every reproducer the fuzzer ever saved (qemu-tests/guest/fuzz-regressions),
# executed as an unprivileged user and as root; the harness fails the run on
# any kernel problem they cause.
. /scenarios/lib.sh
# Each runs where fuzz_kmod's images ran (their working directory), and
# must end on SIGKILL (lib.sh's run_watched).
load_module
mkdir -p /tmp/fz
chown 1000:1000 /tmp/fz
cd /tmp/fz
n=0
for img in /fuzz-regressions/*.ckpt; do
    [ -e "$img" ] || continue
    if ! run_watched 1000 "$img" || ! run_watched 0 "$img"; then
        echo "FAIL: a process restored from $img could not be killed"
        exit 1
    fi
    n=$((n + 1))
done
echo "fuzz_regressions: $n reproducers executed"
echo "fuzz_regressions: all checks passed"
