# Eight pthreads with a shared mutex and condition variable, dumped and
# killed mid-run, restored: every thread continues, joins work, and
# pthread_kill reaches the one thread it names (threads8 checks that the
# handler ran in that thread), exactly as in an uninterrupted run; through
# the restorer named by the scenario's argument.
. /scenarios/lib.sh
use_restorer "$1"

roundtrip threads8 2 threads8 2000 1000
# The restored process had all 9 threads while it ran.
grep -q '^result ' /tmp/threads8.run
echo "restore_threads: all checks passed"
