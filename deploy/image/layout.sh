#!/usr/bin/env bash
# Lay out the kiosk's disk image from directories, without loop devices or mounts.
#   layout.sh ARCH WORK OUT.img
# WORK holds rootfs/ (the root), boot/ (files for the FAT boot partition), data/ (the data partition's
# starting contents), partuuids (root A, root B, data) and disk-id (arm64's MBR id).
# Partitions: 1 boot (FAT32; the ESP on amd64), 2 root A, 3 root B (empty until the first update),
# 4 data (last, so first boot can grow it to the card's size). amd64: GPT; arm64: MBR (the Pi 4 firmware).
# Sizes in MiB may be set with KIOSK_BOOT_MIB, KIOSK_ROOT_MIB (else 1.5 x the root, at least 1536) and
# KIOSK_DATA_MIB.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: layout.sh amd64|arm64 WORKDIR OUT.img" >&2; exit 2; }
arch=$1 work=$2 image=$3
case "$arch" in amd64|arm64) ;; *) echo "layout.sh: unknown architecture '$arch'" >&2; exit 2 ;; esac
for dir in rootfs boot data; do
    [ -d "$work/$dir" ] || { echo "layout.sh: $work/$dir is missing" >&2; exit 2; }
done
export MTOOLS_SKIP_CHECK=1
read -r uuid_a uuid_b uuid_data < <(paste -sd' ' "$work/partuuids")
disk_id=$(cat "$work/disk-id")

used_mib=$(du -sm "$work/rootfs" | cut -f1)
default_root=$(( (used_mib * 3 / 2 + 63) / 64 * 64 ))
[ "$default_root" -ge 1536 ] || default_root=1536
boot_mib=${KIOSK_BOOT_MIB:-256}
root_mib=${KIOSK_ROOT_MIB:-$default_root}
data_mib=${KIOSK_DATA_MIB:-256}
start_mib=4
parts="$work/parts"
mkdir -p "$parts"

# Each file system is made as a file of its own, then copied into place.
rm -f "$parts/boot.img"
mkfs.vfat -C -F 32 -n KIOSKBOOT "$parts/boot.img" $((boot_mib * 1024)) >/dev/null
if [ -n "$(ls -A "$work/boot")" ]; then
    mcopy -s -o -i "$parts/boot.img" "$work/boot"/* ::/
fi
mkfs.ext4 -q -F -L kiosk-root -d "$work/rootfs" "$parts/root.img" "${root_mib}M"
mkfs.ext4 -q -F -L kiosk-data -d "$work/data" "$parts/data.img" "${data_mib}M"

total_mib=$((start_mib + boot_mib + 2 * root_mib + data_mib + 1))
rm -f "$image"
truncate -s "${total_mib}M" "$image"
mib=2048   # sectors of 512 bytes
boot_start=$((start_mib * mib))
a_start=$((boot_start + boot_mib * mib))
b_start=$((a_start + root_mib * mib))
data_start=$((b_start + root_mib * mib))
if [ "$arch" = amd64 ]; then
    sfdisk --quiet "$image" <<EOF
label: gpt
unit: sectors
start=$boot_start, size=$((boot_mib * mib)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="kiosk-boot"
start=$a_start, size=$((root_mib * mib)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$uuid_a, name="kiosk-root-a"
start=$b_start, size=$((root_mib * mib)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$uuid_b, name="kiosk-root-b"
start=$data_start, size=$((data_mib * mib)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$uuid_data, name="kiosk-data"
EOF
else
    sfdisk --quiet "$image" <<EOF
label: dos
label-id: 0x$disk_id
unit: sectors
start=$boot_start, size=$((boot_mib * mib)), type=c, bootable
start=$a_start, size=$((root_mib * mib)), type=83
start=$b_start, size=$((root_mib * mib)), type=83
start=$data_start, size=$((data_mib * mib)), type=83
EOF
fi
place() { dd if="$1" of="$image" bs=1M seek="$2" conv=notrunc,sparse status=none; }
place "$parts/boot.img" "$start_mib"
place "$parts/root.img" $((start_mib + boot_mib))
place "$parts/data.img" $((start_mib + boot_mib + 2 * root_mib))
rm -rf "$parts"
echo "layout.sh: $image: boot ${boot_mib} MiB, root A/B ${root_mib} MiB each (root uses ${used_mib} MiB)," \
    "data ${data_mib} MiB"
