#!/usr/bin/env bash
# Installs, idempotently, everything the build and the tests need on Debian 12.
# Prints what it installs; quick (no network) when everything is present.
set -euo pipefail

BINDGEN_VERSION=0.72.1
BINDGEN_ROOT=$HOME/.local/bindgen

packages=(
    linux-source-6.12 rustc-web rust-web-src       # kernel source, the kernel's rustc and its core source
    clang lld llvm libclang-dev                     # LLVM=1 kernel build, bindgen's libclang
    libelf-dev libssl-dev bc flex bison dwarves kmod cpio xz-utils make gcc libc6-dev patch
    qemu-system-x86 busybox-static file             # the guest
    gdb elfutils binutils                           # core-file tests (to-core)
    python3 nodejs util-linux                       # everyday programs restored (asyncio, http servers), unshare
    openjdk-17-jdk-headless                         # the JVM restored (restorer/userspace/tests/jvm.rs: java Jobs.java)
    slurm-wlm munge                                 # the batch scheduler test (ckpt-writer/tests/slurm.rs)
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "deps: all ${#packages[@]} Debian packages present"
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    echo "deps: no cargo found; this project expects a Rust toolchain (rustup) for the userspace tools" >&2
    exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"

if [ "$("$BINDGEN_ROOT/bin/bindgen" --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
    echo "deps: installing bindgen-cli $BINDGEN_VERSION into $BINDGEN_ROOT"
    cargo install bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$BINDGEN_ROOT"
else
    echo "deps: bindgen $BINDGEN_VERSION present"
fi

/usr/bin/rustc --version >/dev/null || { echo "deps: /usr/bin/rustc (rustc-web) missing" >&2; exit 1; }

# Not installable, but a host test needs it (and fails with CKPT_REQUIRE_ALL=1
# where it is missing): say so early.
core_pattern=$(cat /proc/sys/kernel/core_pattern)
if [ "$core_pattern" != core ]; then
    echo "deps: note: kernel.core_pattern is '$core_pattern', not 'core': ckpt-writer's to_core test matches_a_kernel_core cannot run (sysctl kernel.core_pattern=core)" >&2
fi
