#!/usr/bin/env bash
# Build (or reuse) the Rust-enabled test kernel.
#
# The tree is cached outside the work tree, under $CKPT_CACHE (default
# ~/.cache/binfmt_chkpt), in a directory named by a hash of everything the
# build depends on: the Debian source package version, the config fragment,
# the patches, and the versions of rustc, bindgen and clang. A stamp file is
# written only after a complete build, so an interrupted build is redone.
#
# Prints the kernel tree's path (KDIR) on its last line of stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${CKPT_CACHE:-$HOME/.cache/binfmt_chkpt}
export PATH="$HOME/.local/bindgen/bin:$PATH"
RUSTC=/usr/bin/rustc
tarball=/usr/src/linux-source-6.12.tar.xz

[ -f "$tarball" ] || { echo "build-kernel: $tarball missing; run 'make deps'" >&2; exit 1; }

key=$( {
    dpkg-query -W -f='${Version}\n' linux-source-6.12
    cat "$here/config.fragment"
    cat "$here"/patches/*.patch 2>/dev/null || true
    "$RUSTC" --version
    bindgen --version
    clang --version | head -n1
    sha256sum "$0" | cut -d' ' -f1
} | sha256sum | cut -c1-16)

dir="$cache/kernel-$key"
src="$dir/linux"
if [ -f "$dir/.built" ]; then
    echo "build-kernel: reusing cached kernel $dir" >&2
    echo "$src"
    exit 0
fi

echo "build-kernel: building test kernel in $dir (about 15 minutes on 2 cores)" >&2
rm -rf "$dir"
mkdir -p "$dir"
tar -C "$dir" -xf "$tarball"
mv "$dir/linux-source-6.12" "$src"
for p in "$here"/patches/*.patch; do
    [ -e "$p" ] || continue
    echo "build-kernel: applying $(basename "$p")" >&2
    patch -d "$src" -p1 --quiet < "$p"
done

kmake() { make -C "$src" LLVM=1 RUSTC="$RUSTC" "$@"; }
kmake tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$here/config.fragment" >/dev/null
kmake olddefconfig >/dev/null

# Every requested symbol must have survived olddefconfig.
missing=0
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    sym=${line%%=*}; val=${line#*=}
    if [ "$val" = n ]; then
        if grep -q "^$sym=" "$src/.config"; then echo "build-kernel: $sym should be off" >&2; missing=1; fi
    elif ! grep -qx "$sym=$val" "$src/.config"; then
        echo "build-kernel: $line did not stick (got: $(grep "^$sym=" "$src/.config" || echo unset))" >&2
        missing=1
    fi
done < "$here/config.fragment"
[ "$missing" = 0 ] || { echo "build-kernel: config fragment not satisfiable, see above" >&2; exit 1; }

kmake -j"$(nproc)" bzImage modules_prepare >&2
kmake -j"$(nproc)" modules >&2
touch "$dir/.built"
echo "$src"
