# Process trees (issue 15): test-programs/treework.c's family, a parent
# feeding a filter child feeding a consumer child through pipes (the
# consumer prints on the stdout all share), a zombie child (exit 7) and a
# stopped one, dumped with all its descendants at a wait point, killed,
# restored by executing the image through the restorer named by the
# scenario's argument (the children re-execute the image through it too),
# and compared with an uninterrupted run; the parent collects every child
# with waitpid(-1) and checks the exit codes and the stop itself.
. /scenarios/lib.sh
use_restorer "$1"

must treework family 200 < /dev/null > /tmp/tree.ref
run_held /tmp/tree.in /tmp/tree.run treework --wait-at 5 family 200
checkpoint "$pid" /tmp/tree.run 5 /tmp/tree.ckpt
must /tmp/tree.ckpt < /dev/null
same_output /tmp/tree.ref /tmp/tree.run
grep -q '^exits 0 0 0 7$' /tmp/tree.run || { echo "FAIL: the children's exit codes:"; cat /tmp/tree.run; exit 1; }
must grep -q '^result done$' /tmp/tree.run
echo "restore_tree: all checks passed"
