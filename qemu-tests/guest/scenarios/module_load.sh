# The module loads and registers; plain ELF, #! scripts and busybox applets
# still run with it loaded; a file with the image magic and garbage after it
# is refused with EINVAL and a log line; the module unloads cleanly.
insmod /lib/modules/binfmt_chkpt.ko
grep -q '^binfmt_chkpt ' /proc/modules
dmesg | grep -q 'binfmt_chkpt: registered'

test "$(hello)" = "hello from a plain ELF"
printf '#!/bin/sh\necho script ran "$1"\n' > /tmp/script.sh
chmod +x /tmp/script.sh
test "$(/tmp/script.sh ok)" = "script ran ok"
test "$(busybox echo applet)" = "applet"

# Not an image at all: the module must say "not mine" (ENOEXEC falls through
# to the shell, which reports the file as not executable), and log nothing.
printf 'just some text\n' > /tmp/text.bin
chmod +x /tmp/text.bin
test "$(exec-errno /tmp/text.bin)" = "ENOEXEC"
if dmesg | grep 'binfmt_chkpt: /tmp/text.bin'; then echo "FAIL: a file that is no image was logged"; exit 1; fi

# The image magic followed by garbage: refused as a corrupt image.
ckpt-magic > /tmp/garbage.ckpt
head -c 8192 /dev/urandom >> /tmp/garbage.ckpt
chmod +x /tmp/garbage.ckpt
test "$(exec-errno /tmp/garbage.ckpt)" = "EINVAL"
dmesg | grep 'binfmt_chkpt: /tmp/garbage.ckpt: not restored:' | grep -q 'errno 22'

# Switched off by the admin: the same file is no longer ours.
echo 0 > /sys/module/binfmt_chkpt/parameters/enabled
test "$(exec-errno /tmp/garbage.ckpt)" = "ENOEXEC"
echo 1 > /sys/module/binfmt_chkpt/parameters/enabled

rmmod binfmt_chkpt
if grep -q '^binfmt_chkpt ' /proc/modules; then echo 'still loaded'; exit 1; fi
dmesg | grep -q 'binfmt_chkpt: unregistered'
test "$(hello)" = "hello from a plain ELF"
echo "module_load: all checks passed"
