# What only the userspace restorer does (the restore scenarios run through
# it as NAME:userspace): its binfmt_misc registration (flags, registering
# twice refused, unregistering), running it directly as `ckpt-restore
# IMAGE`, and the fallback where the kernel refuses PR_SET_MM_MAP.
. /scenarios/lib.sh
use_restorer userspace

# A second entry beside use_restorer's `chkpt`, registered and removed.
must ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_second
ckpt-writer binfmt-misc status --name chkpt_second | grep 'flags: '
ckpt-writer binfmt-misc status --name chkpt_second | grep -q 'flags: OF'
if ckpt-writer binfmt-misc register --restorer /usr/bin/ckpt-restore --name chkpt_second; then
    echo "FAIL: registering chkpt_second twice"
    exit 1
fi
must ckpt-writer binfmt-misc unregister --name chkpt_second
test ! -e /proc/sys/fs/binfmt_misc/chkpt_second

# Directly through the restorer, without binfmt_misc.
must counter 1000 2000 < /dev/null > /tmp/direct.ref
run_held /tmp/direct.in /tmp/direct.run counter --wait-at 200 1000 2000
checkpoint "$pid" /tmp/direct.run 200 /tmp/direct.ckpt
must ckpt-restore /tmp/direct.ckpt < /dev/null
same_output /tmp/direct.ref /tmp/direct.run

# Where a kernel refuses PR_SET_MM_MAP (forced): a dynamically linked
# program restores and its malloc keeps working; a static one (its break
# below the restorer's) is refused before the teardown.
export CKPT_RESTORE_NO_MM_MAP=1
roundtrip nomm-dynamic 200 dynamic 800 2000
unset CKPT_RESTORE_NO_MM_MAP
expect_refusal brk-below-restorer /tmp/direct.ckpt env CKPT_RESTORE_NO_MM_MAP=1
echo "restore_userspace: all checks passed"
