# zerocopy inside an out-of-tree Rust module (kmod/Kbuild includes this):
# the record layouts in image-format/src/v1 use zerocopy, and the module
# compiles that directory as is. See image-format/README.md for why each
# step is needed. Before including, set zerocopy-user to the module's Rust
# object that uses zerocopy (e.g. chkpt.o) and add zerocopy.o to the module.
#
# 1. zerocopy-host.sh builds zerocopy's derive macro (a host proc macro,
#    with syn, quote, proc-macro2) with the kernel's rustc, from the sources
#    Cargo.lock pins, into build/zerocopy/ (once; later a no-op).
# 2. zerocopy.o: the zerocopy crate compiled like any Rust object of this
#    module (rust_common_cmd: the kernel's target, core, flags, sanitizers),
#    plus its metadata for the module's crate to link against. The kernel's
#    core is built without float formatting (no_fp_fmt_parse); zerocopy
#    knows that cfg.
# 3. The module's crate gets `--extern zerocopy`, the derive's directory
#    for the proc macro, and `-A non_ascii_idents`: the kernel denies
#    non-ASCII identifiers crate-wide, and zerocopy-derive's FromBytes
#    generates some (`ẕfield` projection types) at the fields' spans. The
#    lint can only be allowed for a whole crate, so tests/kernel_compat.rs
#    checks that the module's own sources are ASCII instead.

zerocopy-host := $(abspath $(src)/../build/zerocopy)

# Quiet: the script says when it builds something.
quiet_cmd_zerocopy_host =
      cmd_zerocopy_host = bash $(src)/../image-format/kbuild/zerocopy-host.sh $(zerocopy-host)

# Always run; the script leaves its outputs untouched when up to date.
$(zerocopy-host)/zerocopy.flags: FORCE
	$(call cmd,zerocopy_host)

quiet_cmd_rustc_zerocopy = RUSTC M  $@
      cmd_rustc_zerocopy = $(rust_common_cmd) --cap-lints allow --cfg no_fp_fmt_parse \
	$$(cat $(zerocopy-host)/zerocopy.flags) \
	--emit=obj=$@ --emit=metadata=$(obj)/libzerocopy.rmeta \
	$$(cat $(zerocopy-host)/zerocopy.src) $(cmd_objtool)

$(obj)/zerocopy.o: $(zerocopy-host)/zerocopy.flags FORCE
	+$(call if_changed_dep,rustc_zerocopy)

RUSTFLAGS_$(zerocopy-user) += --extern zerocopy=$(obj)/libzerocopy.rmeta \
	-L dependency=$(zerocopy-host) -A non_ascii_idents
$(obj)/$(zerocopy-user): $(obj)/zerocopy.o

clean-files += libzerocopy.rmeta
