#!/bin/sh
# Mounts the EBS model-store volume at a fixed path, formatting it ONLY when it is provably blank.
# usage: mount-model-store VOLUME_ID MOUNT_POINT
# The device is found by its stable NVMe id (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...),
# never by /dev/nvme1n1, whose number can change between boots. Its fstab line names the UUID with
# nofail, so a missing volume never blocks boot. Safe to run on every boot: a second run changes nothing.
# MODEL_STORE_DEVICE, FSTAB and WAIT_SECONDS override the device, the fstab path and the wait (tests
# use a loop device).
#
# Data safety: the volume holds models, so it is never reformatted by surprise. The low-level probe
# `blkid -p` (no cache) decides, by its exit code:
#   0  a signature was found: an ext4 filesystem alone is mounted; anything else (another filesystem,
#      a partition table, ext4 under a partition table) is refused and left untouched;
#   2  no signature: formatted only if the first MiB is also all zeros, else refused;
#   8  ambiguous (several signatures, e.g. ext4 plus a stray FAT boot sector): refused;
#   anything else: refused.
# A refusal exits non-zero and says what was found; the operator inspects it (wipefs -n DEVICE).
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

refuse() {
    echo "mount-model-store: REFUSING $device: $1; not formatting, data kept (inspect with: wipefs -n $device)" >&2
    exit 1
}

# One low-level probe (superblocks and partition tables, bypassing the blkid cache); its exit code is
# kept, never swallowed.
probe_rc=0
probe=$(blkid -p -o export "$device") || probe_rc=$?
fs_type=$(printf '%s\n' "$probe" | sed -n 's/^TYPE=//p')
pt_type=$(printf '%s\n' "$probe" | sed -n 's/^PTTYPE=//p')

case "$probe_rc" in
    0)
        if [ -n "$pt_type" ]; then
            refuse "it holds a partition table (PTTYPE=$pt_type${fs_type:+, TYPE=$fs_type}), not a bare ext4 filesystem"
        fi
        if [ "$fs_type" != ext4 ]; then
            refuse "it holds a signature of type '${fs_type:-unknown}', not ext4"
        fi
        echo "mount-model-store: $device already holds ext4; not formatting"
        ;;
    2)
        # No signature blkid knows. Format only if the start of the volume is really empty too: data
        # blkid cannot recognise (encrypted, a foreign format) is still data.
        if ! cmp -s -n 1048576 "$device" /dev/zero; then
            refuse "blkid found no signature (exit 2) but the first MiB is not all zeros"
        fi
        echo "mount-model-store: $device is blank (no signature, first MiB zeros); creating ext4 (label models)"
        mkfs.ext4 -q -L models "$device"
        ;;
    8)
        refuse "blkid -p found ambiguous signatures (exit 8: more than one filesystem or partition table)"
        ;;
    *)
        refuse "blkid -p failed (exit $probe_rc)"
        ;;
esac

uuid=$(blkid -p -o value -s UUID "$device")
if [ -z "$uuid" ]; then
    echo "mount-model-store: $device has ext4 but no UUID; not mounting" >&2
    exit 1
fi
mkdir -p "$mount_point"
if ! grep -q "^UUID=$uuid " "$fstab" 2>/dev/null; then
    echo "UUID=$uuid $mount_point ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2" >> "$fstab"
fi
if ! mountpoint -q "$mount_point"; then
    # fstab names the UUID (for later boots); this first mount names the device just probed, so it
    # neither races udev for the /dev/disk/by-uuid link after mkfs nor picks another volume with the
    # same UUID (one restored from a snapshot of this one).
    mount -t ext4 "$device" "$mount_point"
fi
echo "mount-model-store: UUID=$uuid mounted at $mount_point"
