# binfmt_chkpt: top-level entry points. `make test` and `make demo` each do all
# the set-up on a fresh Debian 12 machine (packages, bindgen, test kernel).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(HOME)/.local/bindgen/bin:$(PATH)

BUILD := $(CURDIR)/build
CARGO ?= cargo
RUSTC_KERNEL := /usr/bin/rustc

# KDIR: a Rust-enabled kernel tree to build the module against. Unset, it is
# the project's test kernel, built once and cached (qemu-tests/kernel/).
ifeq ($(origin KDIR),undefined)
KERNEL_DEP := kernel
KDIR_PATH = $(shell cat $(BUILD)/kdir)
else
KERNEL_DEP :=
KDIR_PATH = $(KDIR)
endif

GUEST_BINS := $(BUILD)/guest-bin/exec-errno $(BUILD)/guest-bin/hello $(BUILD)/guest-bin/run-as $(BUILD)/guest-bin/exec-latency $(BUILD)/guest-bin/exec-sigblk
USER_BINS := $(CURDIR)/target/release/ckpt-writer $(CURDIR)/target/release/ckpt-magic $(CURDIR)/target/release/mutate-image $(CURDIR)/target/release/fuzz-images $(CURDIR)/target/release/ckpt-restore

.PHONY: all deps kernel kmod stub userspace restorer bench-userspace bench-restore-userspace programs guest-bins warn-selftest initramfs \
        test unit-test guest-test demo bench bench-dump bench-migrate bench-restore fuzz fuzz-kmod clean

all: kmod userspace

deps:
	@scripts/deps.sh

kernel: deps
	@mkdir -p $(BUILD)
	@qemu-tests/kernel/build-kernel.sh > $(BUILD)/kdir.tmp
	@mv $(BUILD)/kdir.tmp $(BUILD)/kdir
	@echo "kernel: $$(cat $(BUILD)/kdir)"

# The user-mode restorer stub both restorers embed (restorer/README.md).
stub:
	$(MAKE) -s -C restorer/stub OUT=$(BUILD)/stub

kmod: $(KERNEL_DEP) stub
	$(MAKE) -C kmod KDIR=$(KDIR_PATH) RUSTC=$(RUSTC_KERNEL)

userspace:
	$(CARGO) build --release --workspace --bins
	$(MAKE) -s restorer

# The userspace restorer (binfmt_misc's interpreter), linked statically so
# that it runs in any root file system: target/release/ckpt-restore.
restorer:
	$(CARGO) rustc -q --release -p ckpt-restore --bin ckpt-restore -- -C target-feature=+crt-static

programs:
	@if [ -f test-programs/Makefile ]; then $(MAKE) -C test-programs OUT=$(BUILD)/test-programs; fi

guest-bins:
	@mkdir -p $(BUILD)/guest-bin
	gcc -O2 -Wall -static -o $(BUILD)/guest-bin/exec-errno qemu-tests/guest/bin/exec-errno.c
	gcc -O2 -Wall -o $(BUILD)/guest-bin/hello qemu-tests/guest/bin/hello.c
	gcc -O2 -Wall -static -o $(BUILD)/guest-bin/run-as qemu-tests/guest/bin/run-as.c
	gcc -O2 -Wall -static -o $(BUILD)/guest-bin/exec-latency qemu-tests/guest/bin/exec-latency.c
	gcc -O2 -Wall -static -o $(BUILD)/guest-bin/exec-sigblk qemu-tests/guest/bin/exec-sigblk.c

# A module that WARNs on load, to prove the harness catches kernel warnings.
warn-selftest: $(KERNEL_DEP)
	@mkdir -p $(BUILD)/warn-selftest
	@cp qemu-tests/guest/warn-selftest/* $(BUILD)/warn-selftest/
	$(MAKE) -C $(KDIR_PATH) M=$(BUILD)/warn-selftest LLVM=1 RUSTC=$(RUSTC_KERNEL) modules >/dev/null

# readelf reads the cores restored processes leave (restore_state).
READELF := $(shell command -v readelf)
initramfs: kmod userspace programs guest-bins warn-selftest
	qemu-tests/guest/build-initramfs.sh $(BUILD)/initramfs.cpio \
		kmod/binfmt_chkpt.ko $(BUILD)/warn-selftest/warn_selftest.ko \
		$(GUEST_BINS) $(USER_BINS) $(BUILD)/stub/stub-selftest $(BUILD)/stub/stub.bin $(BUILD)/stub/stub.syms $(READELF) $$(find $(BUILD)/test-programs -maxdepth 1 -type f -executable 2>/dev/null)

# The test command (README, .ci/run): unit tests on this machine, then the
# guest tests in QEMU.
test: deps unit-test guest-test

unit-test: programs stub
	$(BUILD)/stub/stub-selftest $(BUILD)/stub/stub.bin
	$(CARGO) test --workspace --exclude qemu-tests
	$(CARGO) test -p qemu-tests --lib

guest-test: initramfs
	CKPT_KERNEL=$(KDIR_PATH)/arch/x86/boot/bzImage CKPT_INITRAMFS=$(BUILD)/initramfs.cpio \
		$(CARGO) test -p qemu-tests --test "*" -- --test-threads=2

demo: deps initramfs
	CKPT_KERNEL=$(KDIR_PATH)/arch/x86/boot/bzImage CKPT_INITRAMFS=$(BUILD)/initramfs.cpio \
		$(CARGO) run -q -p qemu-tests --bin guest-run -- demo

# Benchmarks: validation speed (10k regions, 1k threads), dump throughput
# for 64/256/1024 MiB next to a plain process_vm_readv copy, and (in the
# guest) restore latency for 1 MiB and 256 MiB images next to execve of a
# static ELF of the same memory size, each pair in one run.
bench: deps bench-restore bench-userspace bench-restore-userspace bench-dump bench-migrate
	$(CARGO) bench -p image-format

# Dump throughput against a bare process_vm_readv copy (tmpfs and disk),
# downtime frozen and with --cow, CRIU beside them when installed; one run.
bench-dump:
	$(CARGO) bench -p ckpt-writer --bench dump

# Live migration over loopback of a 1 GiB process writing 10 and 100 MiB/s:
# downtime, total time, rounds, bytes; stop-and-copy beside it (root).
bench-migrate:
	$(CARGO) bench -p ckpt-writer --bench migrate

bench-restore: initramfs
	CKPT_KERNEL=$(KDIR_PATH)/arch/x86/boot/bzImage CKPT_INITRAMFS=$(BUILD)/initramfs.cpio \
		$(CARGO) run -q -p qemu-tests --bin guest-run -- bench_restore

# In the guest, one boot: static ELF, the module, and binfmt_misc with the
# userspace restorer, 1 MiB and 256 MiB.
bench-restore-userspace: initramfs
	CKPT_KERNEL=$(KDIR_PATH)/arch/x86/boot/bzImage CKPT_INITRAMFS=$(BUILD)/initramfs.cpio \
		$(CARGO) run -q -p qemu-tests --bin guest-run -- bench_restore_userspace

# Restore latency through binfmt_misc and the userspace restorer on this
# machine's kernel, next to execve of a static ELF of the same size (root).
bench-userspace: programs guest-bins
	$(CARGO) build -q --release -p ckpt-writer
	$(MAKE) -s restorer
	restorer/userspace/bench/restore-latency.sh $(CURDIR)/target/release/ckpt-writer \
		$(CURDIR)/target/release/ckpt-restore $(BUILD)/test-programs $(BUILD)/guest-bin/exec-latency

# Fuzzes the image validator and reader (needs cargo-fuzz and a nightly toolchain).
fuzz:
	cd image-format/fuzz && mkdir -p corpus/parse && cp -n ../tests/golden/*.img corpus/parse/ 2>/dev/null; \
		$(CARGO) +nightly fuzz run parse corpus/parse -- -max_total_time=$${DURATION:-60} -max_len=200000

# Fuzzes the module in the guest (KASAN, lockdep, DEBUG_VM, kmemleak) with
# mutated images for DURATION seconds; findings are saved as reproducers
# in qemu-tests/guest/fuzz-regressions/.
fuzz-kmod: initramfs
	CKPT_KERNEL=$(KDIR_PATH)/arch/x86/boot/bzImage CKPT_INITRAMFS=$(BUILD)/initramfs.cpio \
		$(CARGO) run -q --release -p qemu-tests --bin fuzz-kmod -- $${DURATION:-1800}

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C kmod KDIR=$(KDIR_PATH) clean
