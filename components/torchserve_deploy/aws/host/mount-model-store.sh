#!/bin/sh
# Mounts the EBS model-store volume at a fixed path, formatting it ONLY when it holds no filesystem.
# usage: mount-model-store VOLUME_ID MOUNT_POINT
# The device is found by its stable NVMe id (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...),
# never by /dev/nvme1n1, whose number can change between boots. Mounted by UUID with nofail, so a
# missing volume never blocks boot. Safe to run on every boot: a second run changes nothing.
# MODEL_STORE_DEVICE and FSTAB override the device and fstab path (tests use a loop device).
set -eu

volume_id="$1"
mount_point="$2"
id_without_dash=$(printf '%s' "$volume_id" | tr -d '-')
device="${MODEL_STORE_DEVICE:-/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id_without_dash}}"
fstab="${FSTAB:-/etc/fstab}"
wait_seconds="${WAIT_SECONDS:-300}"

waited=0
while [ ! -b "$device" ]; do
    if [ "$waited" -ge "$wait_seconds" ]; then
        echo "mount-model-store: $device did not appear within ${wait_seconds}s (is $volume_id attached?)" >&2
        exit 1
    fi
    sleep 5
    waited=$((waited + 5))
done

# blkid exits 2 when it finds no filesystem signature: only then is the volume blank.
fs_type=$(blkid -o value -s TYPE "$device" || true)
if [ -z "$fs_type" ]; then
    if blkid -p "$device" >/dev/null 2>&1; then
        echo "mount-model-store: $device has a signature but no filesystem type; refusing to format" >&2
        exit 1
    fi
    echo "mount-model-store: $device is blank; creating ext4 (label models)"
    mkfs.ext4 -q -L models "$device"
else
    echo "mount-model-store: $device already holds $fs_type; not formatting"
fi

uuid=$(blkid -o value -s UUID "$device")
mkdir -p "$mount_point"
if ! grep -q "^UUID=$uuid " "$fstab" 2>/dev/null; then
    echo "UUID=$uuid $mount_point ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2" >> "$fstab"
fi
if ! mountpoint -q "$mount_point"; then
    mount UUID="$uuid" "$mount_point"
fi
echo "mount-model-store: UUID=$uuid mounted at $mount_point"
