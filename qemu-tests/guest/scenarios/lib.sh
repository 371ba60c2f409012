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

# same_output REF RUN: the restored run printed what the uninterrupted one did.
same_output() {
    if ! cmp -s "$1" "$2"; then
        echo "FAIL: $2 differs from the uninterrupted run $1"
        diff "$1" "$2" | head -n 20
        exit 1
    fi
    echo "same output as the uninterrupted run: $(wc -l < "$2") lines, $(tail -n 1 "$2")"
}
