#!/usr/bin/env bash
# Make the image's initramfs once, at the end of the build, instead of once per package that asks for it.
#   initramfs-deferred.sh defer ROOT    (mmdebstrap --essential-hook: before the kernel and its hooks)
#   initramfs-deferred.sh make ROOT     (customize.sh, once the kiosk's initramfs hooks are in place)
# `defer` diverts update-initramfs (dpkg-divert: initramfs-tools' own file goes to .kiosk-build when it is
# unpacked) and leaves a stand-in that only says it was deferred, so the kernel's postinst and every
# package trigger return at once; under qemu-user (arm64 on a PC) each mkinitramfs took 10 minutes or more.
# `make` puts initramfs-tools' update-initramfs back and makes the initramfs for every installed kernel.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: initramfs-deferred.sh defer|make ROOT" >&2; exit 2; }
action=$1 root=$2
tool=/usr/sbin/update-initramfs
parked=$tool.kiosk-build
case "$action" in
    defer)
        chroot "$root" dpkg-divert --quiet --local --rename --divert "$parked" --add "$tool"
        mkdir -p "$root/usr/sbin"
        printf '#!/bin/sh\necho "update-initramfs: deferred to the end of the kiosk image build ($*)"\n' \
            >"$root$tool"
        chmod 0755 "$root$tool"
        ;;
    make)
        if chroot "$root" dpkg-divert --listpackage "$tool" 2>/dev/null | grep -q LOCAL; then
            rm -f "$root$tool"
            chroot "$root" dpkg-divert --quiet --local --rename --divert "$parked" --remove "$tool"
        fi
        [ -x "$root$tool" ] || { echo "initramfs-deferred.sh: $tool is missing (initramfs-tools?)" >&2; exit 1; }
        chroot "$root" update-initramfs -c -k all
        ;;
    *) echo "initramfs-deferred.sh: unknown action '$action' (defer or make)" >&2; exit 2 ;;
esac
