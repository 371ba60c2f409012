# The restore policy's cases that once differed between the restorers, run
# under both (the module, then binfmt_misc with ckpt-restore), with the
# refusal's errno, exit status and name from the one table
# (`ckpt-restore --refusal-table`):
# (The mapping count is tested with a real 40,000-mapping process on the
# host, restorer/userspace/tests/policy_cases.rs, and with a 60,000-mapping
# image in restore_long: dumping that many here would take the debug guest
# minutes.)
# - 256 GiB of private memory, more than this guest has: mapped
#   MAP_NORESERVE, restored;
# - a working directory removed after the dump: refused before the point
#   of no return (cwd-missing), the caller goes on.
. /scenarios/lib.sh
mkdir -p /tmp/lim
cd /tmp/lim

# image NAME ARGS...: mapshape ARGS dumped while it waits for its go line
# (stdin a FIFO held open: no end of file), into /tmp/lim/NAME.ckpt; the
# uninterrupted run's output after its go line into NAME.ref.
image() {
    im_name=$1
    shift
    echo go | must mapshape "$@" > "$im_name.full"
    sed 1d "$im_name.full" > "$im_name.ref"
    run_held "$im_name.in" "$im_name.out" mapshape "$@"
    wait_line "$im_name.out" '^ready$' "$pid"
    must ckpt-writer dump "$pid" -o "$im_name.ckpt" --kill
    wait "$pid" 2>/dev/null || true
}

# restores NAME RESTORER: the image, given its go line, prints what the
# uninterrupted run did.
restores() {
    echo go | "./$1.ckpt" > "$1.got"
    rs_rc=$?
    if [ "$rs_rc" != 0 ] || ! cmp -s "$1.ref" "$1.got"; then
        echo "FAIL: $2: $1 restored with status $rs_rc, printed:"
        cat "$1.got"
        exit 1
    fi
    echo "$2: $1 restored: $(cat "$1.got")"
}

# refused NAME REASON RESTORER: executing the image fails before the point
# of no return with REASON, and the shell goes on. The module: the table's
# errno from execve and a log line; ckpt-restore: the table's exit status
# and REASON on stderr.
refused() {
    row=$(ckpt-restore --refusal-table | grep "^$2 ")
    [ -n "$row" ] || { echo "FAIL: no reason $2 in the refusal table"; exit 1; }
    want_errno=$(echo "$row" | cut -d ' ' -f 2)
    want_status=$(echo "$row" | cut -d ' ' -f 3)
    if [ "$3" = module ]; then
        got=$(exec-errno "./$1.ckpt" < /dev/null || true)
        [ "$got" = "$want_errno" ] || { echo "FAIL: module: $1: want $want_errno, got '$got'"; exit 1; }
        dmesg | grep -q "binfmt_chkpt: ./$1.ckpt: not restored: $2 " || { echo "FAIL: module: no log line naming $2"; dmesg | tail -n 3; exit 1; }
        echo "module: $1 refused with $got ($2)"
    else
        "./$1.ckpt" < /dev/null 2> "$1.err" && { echo "FAIL: userspace: $1 ran"; exit 1; }
        got=$?
        [ "$got" = "$want_status" ] || { echo "FAIL: userspace: $1: want status $want_status, got $got: $(cat "$1.err")"; exit 1; }
        grep -q "($2)\$" "$1.err" || { echo "FAIL: userspace: $1: stderr does not name $2: $(cat "$1.err")"; exit 1; }
        echo "userspace: $1 refused with status $got: $(cat "$1.err")"
    fi
}

image maps maps 500
image sparse sparse 256
mkdir work
(cd work && image ../gone maps 4)
rmdir work

each_restorer() {
    restores maps "$1"
    restores sparse "$1"
    refused gone cwd-missing "$1"
}

load_module
each_restorer module
rmmod binfmt_chkpt

test -e /proc/sys/fs/binfmt_misc/register || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_limits
trap 'ckpt-writer binfmt-misc unregister --name chkpt_limits' EXIT
each_restorer userspace
echo "restore_limits: all checks passed"
