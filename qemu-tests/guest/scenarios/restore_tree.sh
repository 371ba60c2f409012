# Process trees (issue 15): test-programs/treework.c's family, a parent
# feeding a filter child feeding a consumer child through pipes (the
# consumer prints on the stdout all share), a zombie child (exit 7) and a
# stopped one, dumped with all its descendants at a wait point, killed,
# restored by executing the image through the restorer named by the
# scenario's argument (the children re-execute the image through it too),
# and compared with an uninterrupted run; the parent collects every child
# with waitpid(-1) and checks the exit codes and the stop itself.
# Then: a socket pair across the tree with signal-driven I/O (sigio.c); the same tree of an unprivileged user (uid 65534, run-as), dumped
# by root, restored by that user, compared with that user's uninterrupted
# run; root's tree, whose output file the user may not write, refused for
# that user (fd-file-permission: a restore has the caller's credentials)
# with nothing run; ckpt-restore of the tree with no binfmt_misc entry;
# and PID-namespace mode (a fresh PID namespace, busybox
# unshare -p -f, root in it): treework's workers, whose parent signals
# their group by its stored pid, restore as uninterrupted.
. /scenarios/lib.sh
use_restorer "$1"

must treework family 200 < /dev/null > /tmp/tree.ref
run_held /tmp/tree.in /tmp/tree.run treework --wait-at 5 family 200
checkpoint "$pid" /tmp/tree.run 5 /tmp/tree.ckpt
must /tmp/tree.ckpt < /dev/null
same_output /tmp/tree.ref /tmp/tree.run
grep -q '^exits 0 0 0 7$' /tmp/tree.run || { echo "FAIL: the children's exit codes:"; cat /tmp/tree.run; exit 1; }
must grep -q '^result done$' /tmp/tree.run

# A socket pair between a parent and its child, and signal-driven I/O in
# both (test-programs/sigio.c): the parent's pipe signals it with
# SIGRTMIN+1 naming the pipe's fd, the child's end of the pair signals the
# child (SIGIO), each owner the restored process itself.
roundtrip sigio 1 sigio
must grep -q '^pipe: SIGRTMIN+1 for its read end: yes, POLL_IN: yes$' /tmp/sigio.run
must grep -q '^child got SIGIO, then ping$' /tmp/sigio.run

# `ckpt-restore TREE` where neither the module nor a binfmt_misc entry can
# execute images: the children run ckpt-restore itself on the image's fd.
if [ "$RESTORER" = userspace ]; then
    must ckpt-writer binfmt-misc unregister --name chkpt
    must ckpt-restore /tmp/tree.ckpt < /dev/null
    same_output /tmp/tree.ref /tmp/tree.run
    must ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt
fi

# An unprivileged user's own tree. Its output file is the user's (the
# restore reopens it with the user's credentials); the image is root's
# (ckpt-writer ran as root), readable and executable by all.
mkdir -p /tmp/nb
chmod 755 /tmp/nb
: > /tmp/nb/ref
: > /tmp/nb/run
chown 65534:65534 /tmp/nb/ref /tmp/nb/run
must run-as 65534 65534 treework family 200 < /dev/null > /tmp/nb/ref
run_held /tmp/nb/in /tmp/nb/run run-as 65534 65534 treework --wait-at 5 family 200
checkpoint "$pid" /tmp/nb/run 5 /tmp/nb/tree.ckpt
must chmod 755 /tmp/nb/tree.ckpt
must run-as 65534 65534 /tmp/nb/tree.ckpt < /dev/null
same_output /tmp/nb/ref /tmp/nb/run
must grep -q '^exits 0 0 0 7$' /tmp/nb/run
must grep -q '^result done$' /tmp/nb/run

# Root's tree, its output root's file: refused for the user before
# anything ran (the file is as it was), the caller goes on.
run_held /tmp/nb/others.in /tmp/nb/others.run treework --wait-at 5 family 200
checkpoint "$pid" /tmp/nb/others.run 5 /tmp/nb/others.ckpt
must chmod 755 /tmp/nb/others.ckpt
before=$(wc -c < /tmp/nb/others.run)
expect_refusal fd-file-permission /tmp/nb/others.ckpt run-as 65534 65534
after=$(wc -c < /tmp/nb/others.run)
if [ "$before" != "$after" ]; then echo "FAIL: the refused tree wrote to its output ($before -> $after bytes)"; exit 1; fi

# PID-namespace mode: restored in a fresh PID namespace (as root, who has
# CAP_SYS_ADMIN over it), the children get their pids at dump: the parent
# signals its workers' group by the pid it stored.
must treework workers 3 100 < /dev/null > /tmp/tw-ns.ref
run_held /tmp/tw-ns.in /tmp/tw-ns.run treework --wait-at 1 workers 3 100
checkpoint "$pid" /tmp/tw-ns.run 1 /tmp/tw-ns.ckpt
# sh -c with a second command: the image is its child (pid 2), not the
# namespace's init.
unshare -p -f sh -c '/tmp/tw-ns.ckpt; echo "tree exited $?" >&2' < /dev/null 2> /tmp/tw-ns.err || { echo "FAIL: unshare:"; cat /tmp/tw-ns.err; exit 1; }
must grep -q '^tree exited 0$' /tmp/tw-ns.err
same_output /tmp/tw-ns.ref /tmp/tw-ns.run
must grep -q '^workers got one SIGUSR1 each$' /tmp/tw-ns.run
echo "restore_tree: all checks passed"
