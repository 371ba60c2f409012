# Every refusal before the point of no return: the exec fails with the
# errno the issue names, the caller goes on (exec-errno prints the errno and
# exits), and the kernel log names the reason in one line.
. /scenarios/lib.sh
load_module

# The base image: a dynamically linked counter (it maps libc from its file).
counter-dynamic 100000 2000 > /tmp/base.out &
pid=$!
wait_line /tmp/base.out '^ready'
ckpt-writer dump "$pid" -o /tmp/base.ckpt
kill "$pid"

# Not an image: ENOEXEC, and nothing logged (other formats get their turn).
printf 'just text\n' > /tmp/text
chmod +x /tmp/text
test "$(exec-errno /tmp/text || true)" = "ENOEXEC"
! dmesg | grep -q 'binfmt_chkpt: /tmp/text'

head -c 8192 /tmp/base.ckpt > /tmp/truncated.ckpt
chmod +x /tmp/truncated.ckpt
expect_refusal EINVAL truncated /tmp/truncated.ckpt

cp /tmp/base.ckpt /tmp/flipped.ckpt
printf '\377' | dd of=/tmp/flipped.ckpt bs=1 seek=300 conv=notrunc 2>/dev/null
expect_refusal EINVAL metadata-checksum /tmp/flipped.ckpt

for kind in overlap kernel-address missing-file changed-file vdso-changed; do
    mutate-image "$kind" /tmp/base.ckpt "/tmp/$kind.ckpt"
    chmod +x "/tmp/$kind.ckpt"
done
expect_refusal EINVAL regions-overlap-or-unsorted /tmp/overlap.ckpt
expect_refusal EINVAL region-outside-user-space /tmp/kernel-address.ckpt
expect_refusal ENOENT mapped-file-missing /tmp/missing-file.ckpt
expect_refusal ESTALE mapped-file-changed /tmp/changed-file.ckpt
# A vdso that is not this kernel's: restored code may hold pointers into it.
expect_refusal EOPNOTSUPP vdso-differs-from-this-kernel /tmp/vdso-changed.ckpt

cp /tmp/base.ckpt /tmp/setuid.ckpt
chmod 4755 /tmp/setuid.ckpt
expect_refusal EPERM setuid-setgid-or-file-capabilities /tmp/setuid.ckpt run-as 1000 1000

# Disabled by the admin: the image is just an unknown format.
echo 0 > /sys/module/binfmt_chkpt/parameters/enabled
test "$(exec-errno /tmp/base.ckpt || true)" = "ENOEXEC"
echo 1 > /sys/module/binfmt_chkpt/parameters/enabled

# A root process with a root-only file open: an unprivileged user who can
# run the image still cannot open that file, so the restore is refused
# before the point of no return.
mkdir -m 700 /tmp/rootonly
files /tmp/rootonly 100000 2000 > /tmp/rootfiles.out &
pid=$!
wait_line /tmp/rootfiles.out '^ready'
ckpt-writer dump "$pid" -o /tmp/rootfiles.ckpt
kill "$pid"
chmod 755 /tmp/rootfiles.ckpt
expect_refusal EACCES fd-file-permission /tmp/rootfiles.ckpt run-as 1000 1000

# None of these left a process behind or the module busy.
rmmod binfmt_chkpt
echo "restore_refusals: all checks passed"
