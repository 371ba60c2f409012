#!/usr/bin/env bash
# tree-latency.sh WRITER RESTORER TREEWORK [RUNS]
#
# Restore time of process trees of 1, 10 and 100 processes (issue 15):
# `treework fan N` (N - 1 children blocked on one pipe) dumped at its wait
# point with all its descendants, then RUNS restores of `./fan-N.ckpt`
# (binfmt_misc runs RESTORER for the root; every child runs RESTORER on
# the image's fd itself), each timed (bash's EPOCHREALTIME) until the whole
# tree has finished: the parent closes the pipe, reaps its N - 1 children
# with waitpid(-1) and exits. The restored output is checked each time.
# Registers a binfmt_misc entry of its own (removed at exit). Needs root.
# Medians and minima of RUNS runs.
set -euo pipefail
writer=$1 restorer=$2 treework=$3 runs=${4:-11}
work=$(mktemp -d /tmp/ckpt-tree-bench.XXXXXX)
entry=ckpt_tree_bench_$$
trap 'echo -1 > /proc/sys/fs/binfmt_misc/$entry 2>/dev/null || true; rm -rf "$work"' EXIT
"$writer" binfmt-misc register --name "$entry" --restorer "$restorer" > /dev/null
cd "$work"
us() { echo "${EPOCHREALTIME/./}"; }
for n in 1 10 100; do
    rm -f fan.in; mkfifo fan.in; exec 9<>fan.in
    "$treework" --wait-at 1 fan "$n" <&9 > "fan-$n.run" & pid=$!; exec 9>&-
    # The wait point's line: read from the file as it grows (tail exits with it).
    grep -q -m1 '^waiting at 1$' <(tail -f "fan-$n.run")
    "$writer" dump "$pid" -q --kill -o "fan-$n.ckpt"
    { wait "$pid"; } 2>/dev/null || true
    times=()
    for _ in $(seq "$runs"); do
        s=$(us); "./fan-$n.ckpt" < /dev/null; e=$(us)
        grep -q "^result $n\$" "fan-$n.run" || { echo "tree of $n: wrong output: $(cat "fan-$n.run")"; exit 1; }
        times+=($((e - s)))
    done
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    echo "tree of $n processes: image $(stat -c %s "fan-$n.ckpt") bytes, median ${sorted[$((runs / 2))]} us, min ${sorted[0]} us ($runs runs)"
done
