# Every reproducer the fuzzer ever saved (qemu-tests/guest/fuzz-regressions),
# executed as an unprivileged user and as root; the harness fails the run on
# any kernel problem they cause.
. /scenarios/lib.sh
load_module
n=0
for img in /fuzz-regressions/*.ckpt; do
    [ -e "$img" ] || continue
    run-as 1000 1000 timeout -s KILL 3 exec-errno "$img" > /dev/null 2>&1 || true
    timeout -s KILL 3 exec-errno "$img" > /dev/null 2>&1 || true
    n=$((n + 1))
done
echo "fuzz_regressions: $n reproducers executed"
echo "fuzz_regressions: all checks passed"
