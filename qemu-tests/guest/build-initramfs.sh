#!/usr/bin/env bash
# build-initramfs.sh OUT.cpio FILE...
#
# Packs the test guest's root file system: busybox (static), the init script,
# the scenarios, and every FILE given: *.ko files go to /lib/modules, anything
# else to /usr/bin. Dynamically linked programs bring the shared libraries
# that ldd names (and the dynamic loader), so glibc programs run in the guest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1; shift
root=$(mktemp -d)
chmod 755 "$root"   # mktemp makes it 0700: unprivileged guest users must reach /usr/bin
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,etc,root,home/user,scenarios}
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$here"/scenarios/*.sh "$root/scenarios/"
mkdir -p "$root/fuzz-regressions"
cp "$here"/fuzz-regressions/*.ckpt "$root/fuzz-regressions/" 2>/dev/null || true
chmod 755 "$root"/fuzz-regressions/*.ckpt 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' > "$root/etc/group"
chown 1000:1000 "$root/home/user"

copy_libs() {
    # ldd prints "name => /path (addr)" or "/path (addr)" for the loader.
    ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
        [ -e "$root$lib" ] && continue
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

for f in "$@"; do
    case "$f" in
        *.ko) cp "$f" "$root/lib/modules/" ;;
        *)
            cp "$f" "$root/usr/bin/"
            if file -L "$f" | grep -q 'dynamically linked'; then copy_libs "$f"; fi
            ;;
    esac
done

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet --reproducible) > "$out.tmp"
mv "$out.tmp" "$out"
