/work/wt/fds/kmod/.chkpt.o.d: /work/wt/fds/kmod/chkpt.rs /work/wt/fds/kmod/../image-format/src/v1/mod.rs /work/wt/fds/kmod/../image-format/src/v1/layout.rs /work/wt/fds/kmod/../image-format/src/v1/checks.rs /work/wt/fds/kmod/../image-format/src/v1/crc.rs /work/wt/fds/kmod/../image-format/src/v1/error.rs /work/wt/fds/kmod/../image-format/src/v1/header.rs /work/wt/fds/kmod/../image-format/src/v1/image.rs /work/wt/fds/kmod/../image-format/src/v1/limits.rs /work/wt/fds/kmod/../image-format/src/v1/metadata.rs /work/wt/fds/kmod/../image-format/src/v1/records.rs /work/wt/fds/kmod/../image-format/src/v1/section.rs /work/wt/fds/kmod/../image-format/src/v1/thread.rs /work/wt/fds/kmod/../image-format/src/v1/verify.rs /work/wt/fds/kmod/../restorer/plan/src/plan.rs /work/wt/fds/kmod/../restorer/policy/src/rules/mod.rs /work/wt/fds/kmod/../restorer/policy/src/rules/check.rs /work/wt/fds/kmod/../restorer/policy/src/rules/files.rs /work/wt/fds/kmod/../restorer/policy/src/rules/footprint.rs /work/wt/fds/kmod/../restorer/policy/src/rules/hole.rs /work/wt/fds/kmod/../restorer/policy/src/rules/host.rs /work/wt/fds/kmod/../restorer/policy/src/rules/reason.rs /work/wt/fds/kmod/../restorer/policy/src/rules/regions.rs /work/wt/fds/kmod/../restorer/policy/src/rules/vdso.rs /work/wt/fds/kmod/glue.rs /work/wt/fds/kmod/host.rs /work/wt/fds/kmod/loader.rs /work/wt/fds/kmod/prepare.rs /work/wt/fds/kmod/refusal.rs /work/wt/fds/kmod/restore.rs /work/wt/fds/kmod/../build/stub/stub.bin ./rust/libcore.rmeta ./rust/libkernel.rmeta ./rust/libffi.rmeta ./rust/libcompiler_builtins.rmeta ./rust/libmacros.so ./rust/libbindings.rmeta ./rust/libuapi.rmeta ./rust/libbuild_error.rmeta /work/wt/fds/kmod/libzerocopy.rmeta /work/wt/fds/build/zerocopy/libzerocopy_derive.so

/work/wt/fds/kmod/chkpt.o: /work/wt/fds/kmod/chkpt.rs /work/wt/fds/kmod/../image-format/src/v1/mod.rs /work/wt/fds/kmod/../image-format/src/v1/layout.rs /work/wt/fds/kmod/../image-format/src/v1/checks.rs /work/wt/fds/kmod/../image-format/src/v1/crc.rs /work/wt/fds/kmod/../image-format/src/v1/error.rs /work/wt/fds/kmod/../image-format/src/v1/header.rs /work/wt/fds/kmod/../image-format/src/v1/image.rs /work/wt/fds/kmod/../image-format/src/v1/limits.rs /work/wt/fds/kmod/../image-format/src/v1/metadata.rs /work/wt/fds/kmod/../image-format/src/v1/records.rs /work/wt/fds/kmod/../image-format/src/v1/section.rs /work/wt/fds/kmod/../image-format/src/v1/thread.rs /work/wt/fds/kmod/../image-format/src/v1/verify.rs /work/wt/fds/kmod/../restorer/plan/src/plan.rs /work/wt/fds/kmod/../restorer/policy/src/rules/mod.rs /work/wt/fds/kmod/../restorer/policy/src/rules/check.rs /work/wt/fds/kmod/../restorer/policy/src/rules/files.rs /work/wt/fds/kmod/../restorer/policy/src/rules/footprint.rs /work/wt/fds/kmod/../restorer/policy/src/rules/hole.rs /work/wt/fds/kmod/../restorer/policy/src/rules/host.rs /work/wt/fds/kmod/../restorer/policy/src/rules/reason.rs /work/wt/fds/kmod/../restorer/policy/src/rules/regions.rs /work/wt/fds/kmod/../restorer/policy/src/rules/vdso.rs /work/wt/fds/kmod/glue.rs /work/wt/fds/kmod/host.rs /work/wt/fds/kmod/loader.rs /work/wt/fds/kmod/prepare.rs /work/wt/fds/kmod/refusal.rs /work/wt/fds/kmod/restore.rs /work/wt/fds/kmod/../build/stub/stub.bin ./rust/libcore.rmeta ./rust/libkernel.rmeta ./rust/libffi.rmeta ./rust/libcompiler_builtins.rmeta ./rust/libmacros.so ./rust/libbindings.rmeta ./rust/libuapi.rmeta ./rust/libbuild_error.rmeta /work/wt/fds/kmod/libzerocopy.rmeta /work/wt/fds/build/zerocopy/libzerocopy_derive.so

/work/wt/fds/kmod/chkpt.rs:
/work/wt/fds/kmod/../image-format/src/v1/mod.rs:
/work/wt/fds/kmod/../image-format/src/v1/layout.rs:
/work/wt/fds/kmod/../image-format/src/v1/checks.rs:
/work/wt/fds/kmod/../image-format/src/v1/crc.rs:
/work/wt/fds/kmod/../image-format/src/v1/error.rs:
/work/wt/fds/kmod/../image-format/src/v1/header.rs:
/work/wt/fds/kmod/../image-format/src/v1/image.rs:
/work/wt/fds/kmod/../image-format/src/v1/limits.rs:
/work/wt/fds/kmod/../image-format/src/v1/metadata.rs:
/work/wt/fds/kmod/../image-format/src/v1/records.rs:
/work/wt/fds/kmod/../image-format/src/v1/section.rs:
/work/wt/fds/kmod/../image-format/src/v1/thread.rs:
/work/wt/fds/kmod/../image-format/src/v1/verify.rs:
/work/wt/fds/kmod/../restorer/plan/src/plan.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/mod.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/check.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/files.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/footprint.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/hole.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/host.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/reason.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/regions.rs:
/work/wt/fds/kmod/../restorer/policy/src/rules/vdso.rs:
/work/wt/fds/kmod/glue.rs:
/work/wt/fds/kmod/host.rs:
/work/wt/fds/kmod/loader.rs:
/work/wt/fds/kmod/prepare.rs:
/work/wt/fds/kmod/refusal.rs:
/work/wt/fds/kmod/restore.rs:
/work/wt/fds/kmod/../build/stub/stub.bin:
./rust/libcore.rmeta:
./rust/libkernel.rmeta:
./rust/libffi.rmeta:
./rust/libcompiler_builtins.rmeta:
./rust/libmacros.so:
./rust/libbindings.rmeta:
./rust/libuapi.rmeta:
./rust/libbuild_error.rmeta:
/work/wt/fds/kmod/libzerocopy.rmeta:
/work/wt/fds/build/zerocopy/libzerocopy_derive.so:
