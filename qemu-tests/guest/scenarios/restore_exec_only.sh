# An execute-only image (mode 0111, owned by root) run by a user who may
# execute it but not read it, through both restorers: the module reads the
# file the execve opened; the userspace restorer (binfmt_misc flags OF)
# restores from the fd the kernel opened for it (AT_EXECFD), while
# `ckpt-restore IMAGE` by hand opens the path and is refused. The restored
# process is not dumpable (the kernel's would_dump): its /proc files are
# root's and its user cannot dump it.
. /scenarios/lib.sh

mkdir -p /tmp/xo
chown 1000:1000 /tmp/xo
cd /tmp/xo

# The user's counter, dumped while it waits at step 200; its image is
# root's and execute-only. Restored with stdin at end of file, it goes on.
run-as 1000 1000 counter 1000 2000 < /dev/null > ref.out
: > run.out
chown 1000:1000 run.out
run_held /tmp/xo/run.in run.out run-as 1000 1000 counter --wait-at 200 1000 2000
checkpoint "$pid" run.out 200 counter.ckpt
cp run.out before.out
chmod 0111 counter.ckpt
ls -l counter.ckpt

# bench-target with 1 MiB, waiting in read(0) on a FIFO; its stderr file is
# reopened by the user on restore.
bench_image 1
chmod 0111 /tmp/bench-1.ckpt
chmod 0666 /tmp/bench-1.ready

# restore_counter RESTORER: the user runs the counter image from where the
# dump left its output; it goes on as the uninterrupted run did.
restore_counter() {
    if run-as 1000 1000 head -c 1 counter.ckpt > /dev/null; then echo "FAIL: the user can read the image"; exit 1; fi
    cp before.out run.out
    run-as 1000 1000 /tmp/xo/counter.ckpt < /dev/null
    same_output ref.out run.out
    echo "$1: the user restored an execute-only image"
}

# not_dumpable RESTORER: the user runs the bench image; once it waits in
# read(0, buf, 1) (/proc/PID/syscall), restored, its /proc files are root's
# and the user's dump is refused; one byte lets it finish.
not_dumpable() {
    exec 3<>/tmp/bench-1.in 4<>/tmp/bench-1.out
    run-as 1000 1000 /tmp/bench-1.ckpt < /tmp/bench-1.in > /tmp/bench-1.out &
    pid=$!
    i=0
    until [ "$(cut -d ' ' -f 1,2,4 "/proc/$pid/syscall")" = "0 0x0 0x1" ]; do
        sleep 0.1
        i=$((i + 1))
        if [ "$i" -gt 300 ]; then echo "FAIL: $1: never waited in read(0): $(cat "/proc/$pid/syscall")"; exit 1; fi
    done
    grep '^Uid:' "/proc/$pid/status"
    grep -q '^Uid:	1000	1000	1000	1000$' "/proc/$pid/status"
    owner=$(stat -c %u "/proc/$pid/status")
    if [ "$owner" != 0 ]; then echo "FAIL: $1: /proc/$pid/status is uid $owner's: the process is dumpable"; exit 1; fi
    if msg=$(run-as 1000 1000 ckpt-writer dump "$pid" -o /tmp/xo/by-user.ckpt 2>&1); then
        echo "FAIL: $1: the user dumped a process restored from an image they cannot read"
        exit 1
    fi
    echo "$msg"
    echo "$msg" | grep -q 'not permitted to trace'
    printf x > /tmp/bench-1.in
    wait "$pid"
    exec 3>&- 4>&-
    echo "$1: the restored process is not dumpable"
}

load_module
restore_counter module
not_dumpable module
rmmod binfmt_chkpt

test -e /proc/sys/fs/binfmt_misc/register || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_exec_only
trap 'ckpt-writer binfmt-misc unregister --name chkpt_exec_only' EXIT
ckpt-writer binfmt-misc status --name chkpt_exec_only | grep 'flags: OF'
# By hand there is no AT_EXECFD: the path is opened, as the user.
if msg=$(run-as 1000 1000 ckpt-restore /tmp/xo/counter.ckpt 2>&1); then
    echo "FAIL: ckpt-restore read an image its caller cannot read"
    exit 1
else
    rc=$?
fi
echo "$msg"
test "$rc" = 3
echo "$msg" | grep -q '(image-permission)'
restore_counter userspace
not_dumpable userspace
echo "restore_exec_only: all checks passed"
