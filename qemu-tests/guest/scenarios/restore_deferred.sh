# Deferred regions: memory that maps an object the restorer's stub
# creates, mapped by the stub once that object exists.
# 1. test-programs/fdmaps.c: a memfd and a deleted file, each held as an
#    fd and mapped MAP_SHARED, written through both before the dump; after
#    the restore the program checks that both writes are seen both ways,
#    the contents, and that new writes through one show through the other
#    (one object again).
# 2. A tree whose workers share MAP_SHARED|MAP_ANONYMOUS memory with their
#    parent (test-programs/treework.c sharers: no pid needed, restored
#    processes get new ones): the root's stub creates the
#    object, every process maps it (with the module: deferred regions);
#    the parent checks the workers' total there and its own value.
. /scenarios/lib.sh
use_restorer "$1"

roundtrip_in fm 1 fdmaps
must grep -q '^result ok$' /tmp/fm.run
no_names_in /tmp/fm-run "the mapped files"

must treework sharers 3 100 < /dev/null > /tmp/tw.ref
run_held /tmp/tw.in /tmp/tw.run treework --wait-at 1 sharers 3 100
checkpoint "$pid" /tmp/tw.run 1 /tmp/tw.ckpt
/tmp/tw.ckpt < /dev/null || { echo "FAIL: the restored tree exited $?:"; cat /tmp/tw.run; exit 1; }
same_output /tmp/tw.ref /tmp/tw.run
grep -q '^shared memory total 15150$' /tmp/tw.run || { echo "FAIL: shared memory:"; cat /tmp/tw.run; exit 1; }
echo "restore_deferred: all checks passed"
