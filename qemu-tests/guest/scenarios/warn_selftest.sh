# Deliberately triggers a kernel WARNING; the harness must flag this run.
insmod /lib/modules/warn_selftest.ko
rmmod warn_selftest
