#!/usr/bin/env bash
# stream-latency.sh WRITER RESTORER [RUNS]
#
# Restore latency from a pipe (`cat IMAGE | ckpt-restore -`: the stream
# copied into a sealed memfd) against from a file (`ckpt-restore IMAGE`),
# for images of 64 MiB and 1 GiB of written memory (test-programs/
# bench-target built with -DMIB=...). Each run is the whole command's wall
# time (bash's EPOCHREALTIME, no fork in the interval): ckpt-restore's
# start, reading the image (the file: header, metadata and tail only; the
# pipe: all of it), the restore, and the restored program reading the byte
# that follows (the rest of the stream, or its stdin), printing and
# exiting. pipe_only is `cat IMAGE | cat > /dev/null`, the cost of the
# pipe alone. The image file is in the page cache (read once before). Needs
# root (ptrace). Medians and minima of RUNS runs.
set -euo pipefail
writer=$1 restorer=$2 runs=${3:-11}
src=$(cd "$(dirname "$0")/../../../test-programs" && pwd)/bench-target.c
work=$(mktemp -d /tmp/ckpt-stream-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

image() { # MIB: a dumped bench-target with MIB MiB written
    local mib=$1 pid
    cc -O2 -static -DMIB="$mib" -o "$work/t$mib" "$src"
    mkfifo "$work/in$mib"
    : > "$work/ready$mib" # exists before tail -f looks at it
    exec 3<>"$work/in$mib"
    "$work/t$mib" prepare < "$work/in$mib" > /dev/null 2> "$work/ready$mib" 3>&- &
    pid=$!
    # Waits for its "ready" line (an event, no timer), then dumps it.
    head -n1 < <(tail -f "$work/ready$mib") > /dev/null
    "$writer" dump "$pid" -o "$work/img$mib.ckpt" --kill -q --allow-unsupported
    wait "$pid" 2>/dev/null || true
    exec 3>&-
    [ "$(stat -c %s "$work/img$mib.ckpt")" -gt $((mib << 20)) ] || { echo "stream-latency: image of $mib MiB too small" >&2; exit 1; }
    cat "$work/img$mib.ckpt" > /dev/null
}

stats() { # microseconds, one a line: "median M us (min N)"
    sort -n | awk '{a[NR]=$1} END {printf "median %d us (min %d, %d runs)", a[int((NR+1)/2)], a[1], NR}'
}

us() { # the command's wall time in microseconds
    local t0=$EPOCHREALTIME
    "$@" || { echo "stream-latency: $* failed ($?)" >&2; exit 1; }
    local t1=$EPOCHREALTIME
    echo $(( (${t1/./} - ${t0/./}) ))
}
from_pipe() { { cat "$1"; printf x; } | "$restorer" - > /dev/null; }
from_file() { printf x | "$restorer" "$1" > /dev/null; }
# For reference: the bytes through a pipe and nothing else.
pipe_only() { cat "$1" | cat > /dev/null; }

for mib in 64 1024; do
    image "$mib"
    img=$work/img$mib.ckpt
    for how in from_file from_pipe pipe_only; do
        for _ in $(seq "$runs"); do us "$how" "$img"; done | stats > "$work/r"
        echo "stream-latency: $mib MiB ($(stat -c %s "$img") bytes) $how: $(cat "$work/r")"
    done
done
