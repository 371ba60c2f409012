# Images that ckpt-writer makes in the guest pass the module's validator
# (the same source as the writer's), and damaged ones are refused with the
# validator's reason. (The restore_* scenarios restore valid ones.)
insmod /lib/modules/binfmt_chkpt.ko

wait_ready() {
    i=0
    until grep -q '^ready' "$1"; do
        sleep 0.1
        i=$((i + 1))
        if [ "$i" -gt 300 ]; then echo "never ready: $1"; cat "$1"; exit 1; fi
    done
}

counter 1000000 1000 > /tmp/counter.out 2>&1 &
counter_pid=$!
threads8 1000000 > /tmp/threads8.out 2>&1 &
threads_pid=$!
wait_ready /tmp/counter.out
wait_ready /tmp/threads8.out

cd /tmp
ckpt-writer dump "$counter_pid" -o /tmp/counter.ckpt
ckpt-writer dump "$threads_pid" -o /tmp/threads8.ckpt
kill -0 "$counter_pid" "$threads_pid"   # both still running after the dump
ckpt-writer verify /tmp/counter.ckpt
ckpt-writer verify /tmp/threads8.ckpt
ckpt-writer inspect /tmp/threads8.ckpt | head -n 5

# One flipped metadata byte (just past the 256-byte header).
cp /tmp/counter.ckpt /tmp/flipped.ckpt
printf '\377' | dd of=/tmp/flipped.ckpt bs=1 seek=300 conv=notrunc 2>/dev/null
test "$(exec-errno /tmp/flipped.ckpt)" = "EINVAL"
dmesg | grep 'binfmt_chkpt: /tmp/flipped.ckpt: not restored:' | grep -q 'checksum'

# Truncated: the trailer is gone.
head -c 8192 /tmp/counter.ckpt > /tmp/truncated.ckpt
chmod +x /tmp/truncated.ckpt
test "$(exec-errno /tmp/truncated.ckpt)" = "EINVAL"
dmesg | grep -q 'binfmt_chkpt: /tmp/truncated.ckpt: not restored: truncated'

# A setuid-root image run by an unprivileged user would raise its
# credentials: refused with EPERM before anything happens. Without the bit,
# the same user gets past the validator, and is refused because the image
# reopens root's output file, which the user may not write.
cp /tmp/counter.ckpt /tmp/suid.ckpt
chmod 4755 /tmp/suid.ckpt
test "$(run-as 1000 1000 exec-errno /tmp/suid.ckpt)" = "EPERM"
dmesg | grep -q 'binfmt_chkpt: /tmp/suid.ckpt: not restored: setuid-setgid-or-file-capabilities (errno 1)'
test "$(exec-errno /tmp/suid.ckpt)" = "EPERM"   # root too: nothing to gain, still refused
chmod 2755 /tmp/suid.ckpt
test "$(run-as 1000 1000 exec-errno /tmp/suid.ckpt)" = "EPERM"
chmod 0755 /tmp/suid.ckpt
test "$(run-as 1000 1000 exec-errno /tmp/suid.ckpt)" = "EACCES"
dmesg | grep -q 'binfmt_chkpt: /tmp/suid.ckpt: not restored: fd-file-permission (errno 13)'

kill "$counter_pid" "$threads_pid"
rmmod binfmt_chkpt
echo "writer_images: all checks passed"
