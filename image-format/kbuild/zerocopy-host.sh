#!/usr/bin/env bash
# zerocopy-host.sh OUT [--host-lib]: prepares zerocopy for a build outside
# cargo with RUSTC (default /usr/bin/rustc, the kernel's compiler): for the
# module (zerocopy.mk), and with --host-lib for the tests that compile the
# module's shared sources the kernel's way on the host (kernel_compat.rs).
#
# Uses exactly the sources Cargo.lock pins (cargo downloads them if needed)
# and builds zerocopy's derive macro with its dependencies as host crates,
# the way cargo would: same features (cargo tree's), and the `--cfg`s their
# build scripts would print for this rustc. Writes into OUT:
#   libzerocopy_derive.so (+ the rlibs it needs)
#   zerocopy.src    path of zerocopy's src/lib.rs
#   zerocopy.flags  rustc flags to compile it (edition 2021): feature,
#                   cfgs, --extern of the derive
# and with --host-lib:
#   host/libzerocopy.rlib  zerocopy itself, for the host
#   host.flags      rustc flags for a crate using it: --extern, -L
# Each file is rewritten only when its content changes, and nothing is
# rebuilt when the versions and the compiler are those of the last run, so
# make sees no change.
set -euo pipefail

out=${1:?usage: zerocopy-host.sh OUT [--host-lib]}
host_lib=${2:-}
rustc=${RUSTC:-/usr/bin/rustc}
cargo=${CARGO:-cargo}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
# One run at a time per OUT (the module build and the tests share it).
exec 9>"$out/lock"
flock 9

# Writes stdin to $1 only if it differs (keeps the mtime otherwise).
put() {
    local tmp
    tmp=$(mktemp "$1.XXXXXX")
    cat > "$tmp"
    if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

# name version features, for zerocopy and everything its derive needs.
crates=$("$cargo" tree --manifest-path "$root/Cargo.toml" --locked -q -p zerocopy -e normal \
    --prefix none --format '{p} {f}' | sed 's/ (\*)$//; s/ (proc-macro)//' | sort -u)
meta=$("$cargo" metadata --manifest-path "$root/Cargo.toml" --locked --format-version 1)

dir_of() { # name version -> the crate's source directory
    local m
    m=$(grep -o "\"manifest_path\":\"[^\"]*/$1-$2/Cargo.toml\"" <<<"$meta" | head -1)
    [ -n "$m" ] || { echo "zerocopy-host: no source for $1 $2 (cargo metadata)" >&2; exit 1; }
    m=${m#\"manifest_path\":\"}
    dirname "${m%\"}"
}

declare -A ver feat dir
while read -r name v features; do
    ver[$name]=${v#v}
    feat[$name]=$features
    dir[$name]=$(dir_of "$name" "${ver[$name]}")
done <<<"$crates"
for c in zerocopy zerocopy-derive syn quote proc-macro2 unicode-ident; do
    [ -n "${ver[$c]:-}" ] || { echo "zerocopy-host: $c is not in zerocopy's dependency tree" >&2; exit 1; }
done

rustc_version=$("$rustc" --version)
rv=$(sed -E 's/^rustc ([0-9]+\.[0-9]+\.[0-9]+).*/\1/' <<<"$rustc_version")
older_than() { # true if this rustc is older than version $1
    [ "$rv" != "$1" ] && [ "$(printf '%s\n%s\n' "$rv" "$1" | sort -V | head -1)" = "$rv" ]
}

edition() {
    sed -n 's/^edition *= *"\([0-9]*\)".*/\1/p' "${dir[$1]}/Cargo.toml" | head -1
}

host() { # crate-name crate crate-type extra-flags...
    local name=$1 crate=$2 type=$3 f features cfgs=()
    shift 3
    IFS=, read -ra features <<<"${feat[$crate]}"
    for f in "${features[@]}"; do cfgs+=(--cfg "feature=\"$f\""); done
    "$rustc" --edition="$(edition "$crate")" --crate-type "$type" --crate-name "$name" \
        -O --cap-lints allow -L "$out" --out-dir "$out" \
        "${cfgs[@]}" "$@" "${dir[$crate]}/src/lib.rs"
}

stamp="$rustc_version
$crates"
if [ "$(cat "$out/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "zerocopy-host: building zerocopy-derive ${ver[zerocopy-derive]} and its dependencies with $rustc_version" >&2
    rm -f "$out/stamp"
    host unicode_ident unicode-ident rlib
    # proc-macro2's build script: wrap the compiler's proc_macro (the
    # nightly-only span probes are left out).
    host proc_macro2 proc-macro2 rlib --cfg wrap_proc_macro --extern unicode_ident
    host quote quote rlib --extern proc_macro2
    host syn syn rlib --extern proc_macro2 --extern quote --extern unicode_ident
    host zerocopy_derive zerocopy-derive proc-macro --extern proc_macro \
        --extern proc_macro2 --extern quote --extern syn
    printf '%s' "$stamp" > "$out/stamp"
fi

# zerocopy's build script: one --cfg per [package.metadata.build-rs] entry
# whose Rust version is newer than this compiler.
zcfgs=$(sed -n '/^\[package.metadata.build-rs\]/,/^\[/s/^\([a-z0-9-]*\) *= *"\([0-9.]*\)".*/\1 \2/p' \
    "${dir[zerocopy]}/Cargo.toml" | while read -r cfg v; do
        if older_than "$v"; then printf -- "--cfg %s " "${cfg//-/_}"; fi
    done)
printf '%s\n' "${dir[zerocopy]}/src/lib.rs" | put "$out/zerocopy.src"
# Only the derive feature: the kernel has neither std nor alloc.
printf -- "--cfg feature=\"derive\" %s--extern zerocopy_derive=%s\n" \
    "$zcfgs" "$out/libzerocopy_derive.so" | put "$out/zerocopy.flags"

if [ "$host_lib" = --host-lib ]; then
    mkdir -p "$out/host"
    hstamp="$rustc_version
$(cat "$out/zerocopy.src" "$out/zerocopy.flags")"
    if [ "$(cat "$out/host/stamp" 2>/dev/null)" != "$hstamp" ]; then
        rm -f "$out/host/stamp"
        # shellcheck disable=SC2046 # the flags file holds separate words
        "$rustc" --edition=2021 --crate-type rlib --crate-name zerocopy --cap-lints allow \
            -C panic=abort --out-dir "$out/host" $(cat "$out/zerocopy.flags") "${dir[zerocopy]}/src/lib.rs"
        printf '%s' "$hstamp" > "$out/host/stamp"
    fi
    printf -- "--extern zerocopy=%s -L dependency=%s\n" "$out/host/libzerocopy.rlib" "$out" | put "$out/host.flags"
fi
