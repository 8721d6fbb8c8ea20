#!/usr/bin/env bash
# mmdebstrap customize hook: turn the Debian root into the kiosk's root.
#   customize.sh ROOT ARCH WORK REPO
# ROOT is the new system, WORK holds the wheels, keys, partition UUIDs; REPO is this repository.
set -euo pipefail
root=$1 arch=$2 work=$3 repo=$4
here="$repo/deploy/image"
read -r uuid_a uuid_b uuid_data < <(paste -sd' ' "$work/partuuids")
disk_id=$(cat "$work/disk-id")
in_root() { chroot "$root" "$@"; }

install_station() {
    # The station in its own venv: Debian's pyscard (built against Debian's pcsclite) through the system
    # site-packages, everything else from the hash-checked wheels. The venv is made in the root (seconds),
    # the wheels are unpacked and byte-compiled by the build machine's Python (install_venv.py): for arm64
    # on a PC, pip and compileall inside the root ran under qemu-user and took most of the build. Same code
    # for both architectures; install_venv.py refuses a Python whose byte code is not the image's.
    in_root python3 -m venv --system-site-packages --without-pip /opt/kiosk/venv
    "$(cat "$work/pip-python")" "$here/install_venv.py" "$root" "$work/wheels" --arch "$arch"
    mkdir -p "$root/opt/kiosk/doc"
    cp "$repo/docs/TECHNICIANS.md" "$root/opt/kiosk/doc/" 2>/dev/null || true
    ln -sf /opt/kiosk/venv/bin/kiosk /opt/kiosk/venv/bin/kiosk-update /opt/kiosk/venv/bin/kiosk-firstboot \
        "$root/usr/local/bin/"
}

install_files() {
    cp -a "$here/overlay/." "$root/"
    chmod 0440 "$root/etc/sudoers.d/kiosk-technician"
    install -m 0644 "$repo"/deploy/systemd/*.service "$repo"/deploy/systemd/*.timer \
        "$repo"/deploy/systemd/*.path "$root/etc/systemd/system/"
    install -m 0644 "$repo"/deploy/udev/*.rules "$root/etc/udev/rules.d/"
    mkdir -p "$root/etc/rauc"
    install -m 0644 "$work/keys/keyring.pem" "$root/etc/rauc/keyring.pem"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tkiosk\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
}

users() {
    in_root useradd --system --create-home --home-dir /var/lib/kiosk --shell /usr/sbin/nologin \
        --groups dialout,lp,plugdev,video,render,input kiosk
    in_root useradd --create-home --home-dir /home/technician --shell /bin/bash \
        --groups systemd-journal,adm technician
    in_root passwd --lock root
    in_root passwd --lock technician
}

boot_partition_mountpoint() {
    if [ "$arch" = amd64 ]; then echo /boot/efi; else echo /boot/firmware; fi
}

filesystems() {
    local boot
    boot=$(boot_partition_mountpoint)
    local root_a=PARTUUID=$uuid_a data=PARTUUID=$uuid_data boot_dev
    if [ "$arch" = arm64 ]; then
        root_a=PARTUUID=$disk_id-02 data=PARTUUID=$disk_id-04 boot_dev=PARTUUID=$disk_id-01
    else
        boot_dev=LABEL=KIOSKBOOT
    fi
    mkdir -p "$root/data" "$root$boot" "$root/var/log/journal"
    cat >"$root/etc/fstab" <<EOF
# Read-only root; the data partition is mounted (with its binds) by the initramfs, see kiosk-data.
/dev/root   /            ext4   ro,noatime,errors=remount-ro  0 1
LABEL=kiosk-data /data   ext4   rw,noatime,nosuid,nodev       0 2
$boot_dev   $boot        vfat   rw,noatime,umask=0077,flush   0 2
tmpfs       /tmp         tmpfs  mode=1777,nosuid,nodev,size=128M 0 0
tmpfs       /var/tmp     tmpfs  mode=1777,nosuid,nodev,size=32M  0 0
EOF
    : >"$root/etc/machine-id"   # empty: systemd makes one on the first boot, first boot keeps it on /data
    mkdir -p "$root/var/lib/dbus"
    rm -f "$root/var/lib/dbus/machine-id"
    ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
    # Login records and the host name live on the data partition too.
    for record in wtmp btmp lastlog; do ln -sf "/data/log/$record" "$root/var/log/$record"; done
    ln -sf /data/hostname "$root/etc/hostname"
    rm -f "$root"/etc/ssh/ssh_host_*   # every kiosk makes its own, on its data partition
    mkdir -p "$root/etc/wpa_supplicant"
    ln -sf /data/wifi/wpa_supplicant-wlan0.conf "$root/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
    ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
    # The data partition's starting contents (layout.sh makes it with mkfs.ext4 -d).
    mkdir -p "$work/data/kiosk" "$work/data/journal" "$work/data/ssh/authorized_keys" "$work/data/wifi" \
        "$work/data/rauc" "$work/data/log" "$work/data/updates"
    touch "$work/data/log/wtmp" "$work/data/log/btmp" "$work/data/log/lastlog"
    echo kiosk >"$work/data/hostname"
    cp -a "$root/var/lib/systemd" "$work/data/var-lib-systemd"
    chmod 0700 "$work/data/kiosk" "$work/data/wifi"
    chmod 0755 "$work/data/ssh" "$work/data/ssh/authorized_keys"  # sshd reads the keys as the user
    # The station's user fetches updates into /data/updates; root installs them from there.
    chown "$(in_root id -u kiosk):$(in_root id -g kiosk)" "$work/data/kiosk" "$work/data/updates"
    chmod 0755 "$work/data/updates"
    printf '%s\n' "$root_a" >"$work/root-device"
}

rauc_config() {
    local boot
    boot=$(boot_partition_mountpoint)
    local dev_a=/dev/disk/by-partuuid/$uuid_a dev_b=/dev/disk/by-partuuid/$uuid_b bootloader
    if [ "$arch" = arm64 ]; then
        dev_a=/dev/disk/by-partuuid/$disk_id-02 dev_b=/dev/disk/by-partuuid/$disk_id-03
        bootloader="bootloader=custom"$'\n\n'"[handlers]"$'\n'"bootloader-custom-backend=/opt/kiosk/venv/bin/kiosk-pi-boot"
        bootloader+=$'\n'"post-install=/usr/lib/kiosk/rauc-post-install"
    else
        bootloader="bootloader=grub"$'\n'"grubenv=$boot/EFI/kiosk/grubenv"
    fi
    cat >"$root/etc/rauc/system.conf" <<EOF
# RAUC: two root slots; bundles must be signed by a key in keyring.pem (see docs/TECHNICIANS.md, key rotation).
[system]
compatible=library-kiosk-$arch
statusfile=/data/rauc/status.raucs
# The root is read-only: RAUC mounts bundles and slots under /run, not its default /mnt/rauc.
mountprefix=/run/rauc
bundle-formats=-plain
$bootloader

[keyring]
path=/etc/rauc/keyring.pem

[slot.rootfs.0]
device=$dev_a
type=ext4
bootname=A

[slot.rootfs.1]
device=$dev_b
type=ext4
bootname=B
EOF
}

services() {
    in_root systemctl enable systemd-networkd systemd-resolved systemd-timesyncd pcscd.socket seatd.service \
        kiosk-firstboot.service kiosk-station.service kiosk-health.service kiosk-update-fetch.timer \
        kiosk-update-install.path
    in_root systemctl disable wpa_supplicant.service 2>/dev/null || true
    mkdir -p "$root/etc/systemd/system/wpa_supplicant@wlan0.service.d"
    printf '[Unit]\nConditionPathExists=/data/wifi/wpa_supplicant-wlan0.conf\n' \
        >"$root/etc/systemd/system/wpa_supplicant@wlan0.service.d/kiosk.conf"
    # No login on any screen or serial line, no Ctrl+Alt+Del reboot.
    in_root systemctl mask getty@.service autovt@.service serial-getty@.service console-getty.service \
        ctrl-alt-del.target
    in_root systemctl set-default multi-user.target
}

boot_files() {
    local cmdline="console=tty1 console=ttyS0,115200 quiet panic=10"
    if [ "$arch" = amd64 ]; then
        mkdir -p "$work/boot/EFI/BOOT" "$work/boot/EFI/kiosk"
        sed -e "s/@ROOT_A_UUID@/$uuid_a/" -e "s/@ROOT_B_UUID@/$uuid_b/" -e "s|@CMDLINE@|$cmdline|" \
            "$here/grub.cfg.in" >"$work/boot/EFI/kiosk/grub.cfg"
        cp "$here/grub-embedded.cfg" "$root/tmp/grub-embedded.cfg"
        in_root grub-mkstandalone -O x86_64-efi -o /tmp/BOOTX64.EFI \
            --modules="part_gpt ext2 fat search search_fs_file regexp loadenv test echo normal linux all_video configfile" \
            "boot/grub/grub.cfg=/tmp/grub-embedded.cfg"
        mv "$root/tmp/BOOTX64.EFI" "$work/boot/EFI/BOOT/BOOTX64.EFI"
        rm "$root/tmp/grub-embedded.cfg"
        in_root grub-editenv /tmp/grubenv create
        in_root grub-editenv /tmp/grubenv set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
        mv "$root/tmp/grubenv" "$work/boot/EFI/kiosk/grubenv"
    else
        # The Pi's firmware from raspi-firmware at the top; slot A's kernel, initrd, device trees and
        # cmdline.txt in a/ (os_prefix, see deploy/updates/pi_boot.py), so an update can put B's in b/.
        mkdir -p "$work/boot"
        find "$root/usr/lib/raspi-firmware" -maxdepth 1 -type f \( -name '*.elf' -o -name '*.dat' -o -name '*.bin' \) \
            -exec cp {} "$work/boot/" \;
        KIOSK_PI_BOOT="$work/boot" PYTHONPATH="$repo" python3 -m deploy.updates.pi_boot \
            install-kernel A "$root" "$disk_id-02"
        printf 'os_prefix=a/\n' >"$work/boot/slot.txt"
        { printf '[all]\nkernel=vmlinuz\ninitramfs initrd.img followkernel\ninclude slot.txt\n'
          cat "$here/config-pi.txt"; } >"$work/boot/config.txt"
        # Raspberry Pi OS's kernel ships the KMS overlay its device trees need; Debian's has none (and needs none)
        if [ -e "$work/boot/a/overlays/vc4-kms-v3d.dtbo" ]; then printf 'dtoverlay=vc4-kms-v3d\n' >>"$work/boot/config.txt"; fi
    fi
    mkdir -p "$work/boot/kiosk"
    cp "$repo/deploy/flash/device-example.toml" "$work/boot/kiosk/device-example.toml"
}

install_station
install_files
users
filesystems
rauc_config
services
"$here/initramfs-deferred.sh" make "$root"   # once, now that the kiosk-data hook is in
boot_files
