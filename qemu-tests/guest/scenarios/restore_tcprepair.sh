# Established TCP connections carried with --tcp-established=repair (root
# has CAP_NET_ADMIN) and named FIFOs, through the restorer named by the
# scenario's argument, compared with uninterrupted runs:
# test-programs/sockserve "tcp" (a connection with both ends in the image,
# next to the listener on its port: alive after the restore) and
# test-programs/fifo (read, write and read-write ends, queued bytes).
. /scenarios/lib.sh
use_restorer "$1"
must ip link set lo up

mkdir -p /tmp/sr-ref /tmp/sr-run
must sockserve /tmp/sr-ref tcp < /dev/null > /tmp/sr.ref
must grep -q '^tcp connection alive$' /tmp/sr.ref
run_held /tmp/sr.in /tmp/sr.run sockserve --wait-at 1 /tmp/sr-run tcp
wait_line /tmp/sr.run '^waiting at 1$' "$pid"
if ! ckpt-writer dump "$pid" -o /tmp/sr.ckpt --kill --tcp-established=repair 2> /tmp/sr.dump; then
    echo "FAIL: ckpt-writer could not dump sockserve with repair:"
    cat /tmp/sr.dump
    exit 1
fi
wait "$pid" 2>/dev/null || true
grep -q 'fd 9: a TCP connection from 127.0.0.1:.* is carried with TCP_REPAIR' /tmp/sr.dump || { echo "FAIL: no repair in the summary:"; cat /tmp/sr.dump; exit 1; }
must /tmp/sr.ckpt < /dev/null
same_output /tmp/sr.ref /tmp/sr.run
must grep -q '^result ok$' /tmp/sr.run

roundtrip_in ff 1 fifo
must grep -q '^result ok$' /tmp/ff.run
echo "restore_tcprepair: all checks passed"
