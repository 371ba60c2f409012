# Every refusal before the point of no return, through the restorer named
# by the scenario's argument: the caller goes on, and the refusal names its
# reason with the errno and log line (module) or the exit status and
# message (ckpt-restore) that the one refusal table gives (expect_refusal
# in lib.sh).
. /scenarios/lib.sh
use_restorer "$1"

# The base image: a dynamically linked counter (it maps libc from its
# file), dumped while it waits at step 100. Were it restored by mistake,
# it would end after 10 more steps.
run_held /tmp/base.in /tmp/base.out counter-dynamic --wait-at 100 110 2000
checkpoint "$pid" /tmp/base.out 100 /tmp/base.ckpt

# Not an image: ENOEXEC (neither restorer takes it; other formats get their turn).
printf 'just text\n' > /tmp/text
chmod +x /tmp/text
test "$(exec-errno /tmp/text || true)" = "ENOEXEC"

head -c 8192 /tmp/base.ckpt > /tmp/truncated.ckpt
chmod +x /tmp/truncated.ckpt
expect_refusal truncated /tmp/truncated.ckpt

cp /tmp/base.ckpt /tmp/flipped.ckpt
printf '\377' | dd of=/tmp/flipped.ckpt bs=1 seek=300 conv=notrunc 2>/dev/null
expect_refusal metadata-checksum /tmp/flipped.ckpt

for kind in overlap kernel-address missing-file changed-file vdso-changed; do
    must mutate-image "$kind" /tmp/base.ckpt "/tmp/$kind.ckpt"
    chmod +x "/tmp/$kind.ckpt"
done
expect_refusal regions-overlap-or-unsorted /tmp/overlap.ckpt
expect_refusal region-outside-user-space /tmp/kernel-address.ckpt
expect_refusal mapped-file-missing /tmp/missing-file.ckpt
expect_refusal mapped-file-changed /tmp/changed-file.ckpt
# A vdso that is not this kernel's: restored code may hold pointers into it.
expect_refusal vdso-differs-from-this-kernel /tmp/vdso-changed.ckpt

# A root process with a root-only file open: an unprivileged user who can
# run the image still cannot open that file, so the restore is refused
# before the point of no return.
mkdir -p /tmp/rootonly
chmod 700 /tmp/rootonly
run_held /tmp/rootfiles.in /tmp/rootfiles.out files --wait-at 100 /tmp/rootonly 110 2000
checkpoint "$pid" /tmp/rootfiles.out 100 /tmp/rootfiles.ckpt
chmod 755 /tmp/rootfiles.ckpt
chmod 666 /tmp/rootfiles.out
expect_refusal fd-file-permission /tmp/rootfiles.ckpt run-as 1000 1000

# A setuid image: refused whatever else the image holds (here also an
# output file that is root's), then with nothing else in the way.
cp /tmp/base.ckpt /tmp/setuid.ckpt
chmod 4755 /tmp/setuid.ckpt
expect_refusal setuid-setgid-or-file-capabilities /tmp/setuid.ckpt run-as 1000 1000
chmod 666 /tmp/base.out
expect_refusal setuid-setgid-or-file-capabilities /tmp/setuid.ckpt run-as 1000 1000
echo "restore_refusals: all checks passed"
