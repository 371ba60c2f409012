# Listening and bound sockets (test-programs/sockserve.c: TCP listeners on
# 127.0.0.1 and [::1], unix listeners on a path and an abstract name, a
# UDP and a unix datagram socket, and a TCP connection), dumped at a wait
# point with --tcp-established=reset, killed, restored through the
# restorer named by the scenario's argument, and compared with an
# uninterrupted run: each listener accepts a new connection, each bound
# socket receives a datagram, the connection is reset (ECONNRESET) where
# the uninterrupted run finds it alive. The unix socket files the killed
# process left are bound again. A dump without the option is refused
# naming the connection; restoring while the dumped process still holds
# its addresses is refused before the point of no return
# (socket-address-in-use). Then files deleted while open, and inotify.
. /scenarios/lib.sh
use_restorer "$1"
# Loopback, for 127.0.0.1 and ::1.
must ip link set lo up

mkdir -p /tmp/ss-ref /tmp/ss-run
must sockserve /tmp/ss-ref tcp < /dev/null > /tmp/ss.ref
must grep -q '^tcp connection alive$' /tmp/ss.ref
sed 's/^tcp connection alive$/tcp connection reset/' /tmp/ss.ref > /tmp/ss.want

run_held /tmp/ss.in /tmp/ss.run sockserve --wait-at 1 /tmp/ss-run tcp
wait_line /tmp/ss.run '^waiting at 1$' "$pid"
if ckpt-writer dump "$pid" -o /tmp/ss.ckpt --kill 2> /tmp/ss.dump; then
    echo "FAIL: a TCP connection was dumped without --tcp-established=reset"
    exit 1
fi
grep -q 'fd 9 is a TCP connection from 127.0.0.1:' /tmp/ss.dump || { echo "FAIL: the refusal does not name the connection:"; cat /tmp/ss.dump; exit 1; }
if ! ckpt-writer dump "$pid" -o /tmp/ss.ckpt --kill --tcp-established=reset 2> /tmp/ss.dump; then
    echo "FAIL: ckpt-writer could not dump sockserve:"
    cat /tmp/ss.dump
    exit 1
fi
wait "$pid" 2>/dev/null || true
grep -q 'fd 9: a TCP connection from 127.0.0.1:.* is restored reset (ECONNRESET)' /tmp/ss.dump || { echo "FAIL: no reset in the summary:"; cat /tmp/ss.dump; exit 1; }
must test -S /tmp/ss-run/srv.sock
must /tmp/ss.ckpt < /dev/null
same_output /tmp/ss.want /tmp/ss.run
must grep -q '^result ok$' /tmp/ss.run

# The dumped process still runs and holds its addresses: refused.
run_held /tmp/ss2.in /tmp/ss2.run sockserve --wait-at 1 /tmp/ss-run
wait_line /tmp/ss2.run '^waiting at 1$' "$pid"
must ckpt-writer dump "$pid" -o /tmp/ss2.ckpt
expect_refusal socket-address-in-use /tmp/ss2.ckpt
release /tmp/ss2.in
wait "$pid"
must grep -q '^result ok$' /tmp/ss2.run

# Files deleted while open (test-programs/deleted.c checks the contents,
# the shared offset, the access modes, O_APPEND, and that they stay
# unlinked): O_TMPFILE in their directory (tmpfs).
roundtrip_in dl 1 deleted
must grep -q '^result ok$' /tmp/dl.run
no_names_in /tmp/dl-run "the deleted files"

# inotify (test-programs/inotify.c: watches on a directory and a file,
# their wds, events after the restore).
roundtrip_in in 1 inotify
must grep -q '^result ok$' /tmp/in.run
# A connected UDP socket: bound to its address and connected to its peer
# again (udpconn checks address, peer, datagrams both ways, a stranger's
# datagram filtered out).
roundtrip udpconn 1 udpconn
must grep -q '^result OK$' /tmp/udpconn.run
# Sockets never bound (TCP, UDP, IPv6 TCP, unix stream and datagram): come
# back unbound with their options, and serve once bound (unbound checks).
roundtrip unbound 1 unbound
must grep -q '^result OK$' /tmp/unbound.run
# A unix datagram socket connected to a server outside the process (a
# syslog client's): connected to the server's name again; the server
# gets "before" and "after" from the uninterrupted run and from the
# restored one. With no server there, refused before the point of no
# return (socket-peer-unavailable).
logclient --serve /tmp/log.sock 4 > /tmp/logsrv.out &
logsrv=$!
wait_line /tmp/logsrv.out '^serving$' "$logsrv"
roundtrip logclient 1 logclient /tmp/log.sock
must grep -q '^result OK$' /tmp/logclient.run
must wait "$logsrv"
if [ "$(grep -c '^got ' /tmp/logsrv.out)" != 4 ] || [ "$(grep '^got ' /tmp/logsrv.out | sort | uniq -c | tr -s ' ')" != "$(printf ' 2 got after\n 2 got before')" ]; then
    echo "FAIL: the server did not get before and after from both runs:"; cat /tmp/logsrv.out; exit 1
fi
rm -f /tmp/log.sock
expect_refusal socket-peer-unavailable /tmp/logclient.ckpt
# Netlink sockets: a NETLINK_ROUTE socket bound to its port and the link
# group again, one never bound stays so; both answer a link dump.
roundtrip netlinks 1 netlinks
must grep -q '^result OK$' /tmp/netlinks.run
# Socket options: a TCP listener's (inherited by a connection accepted
# after the restore), a UDP socket's, each unix pair end's, as getsockopt
# reports them, equal to the uninterrupted run.
roundtrip sockopts 1 sockopts
must grep -q '^accepted: TCP_NODELAY 1 SO_KEEPALIVE 1 TCP_KEEPIDLE 77' /tmp/sockopts.run

echo "restore_sockets: all checks passed"
