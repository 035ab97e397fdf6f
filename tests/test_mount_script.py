"""The EBS mount script for real, as root, against loop devices: it formats a blank volume once, a second
run (with data on it) neither reformats nor loses anything, and anything that is not provably blank or a
bare ext4 filesystem (ambiguous signatures, a partition table, unrecognised bytes, another filesystem) is
refused loudly and left byte-for-byte as it was."""
import hashlib
import os
import subprocess

import pytest

from tests.mocks import ROOT

pytestmark = pytest.mark.root
SCRIPT = ROOT / "components/torchserve_deploy/aws/host/mount-model-store.sh"
MIB = 1024 * 1024
NOT_FORMATTING = "not formatting, data kept"


def sh(*args, **kwargs):
    result = subprocess.run(list(args), capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def image(tmp_path):
    """A 64 MiB zero-filled file: what a fresh EBS volume reads as. Shape it before attaching it."""
    assert os.geteuid() == 0, "the mount-script test needs root (loop devices, mkfs, mount): run make test as root"
    path = tmp_path / "ebs.img"
    with open(path, "wb") as f:
        f.truncate(64 * MIB)
    return path


@pytest.fixture
def loop_device(image, tmp_path):
    """The image attached to its own loop device; whatever the script mounted is unmounted and the device
    detached afterwards, even when the test fails."""
    device = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True, text=True)
    assert device.returncode == 0, "no loop device available: " + device.stderr
    name = device.stdout.strip()
    yield name
    for mount_point in (tmp_path / "srv-models", tmp_path / "check"):
        while subprocess.run(["mountpoint", "-q", str(mount_point)]).returncode == 0:
            subprocess.run(["umount", str(mount_point)])
    subprocess.run(["losetup", "--detach", name])


def run(device, fstab, mount_point):
    env = {**os.environ, "MODEL_STORE_DEVICE": device, "FSTAB": str(fstab), "WAIT_SECONDS": "5"}
    return subprocess.run(["sh", str(SCRIPT), "vol-0123456789abcdef0", str(mount_point)], env=env,
                          capture_output=True, text=True)


def uuid(device):
    """The UUID as the device says it now (-p: a low-level probe, never blkid's possibly stale cache)."""
    return subprocess.run(["blkid", "-p", "-o", "value", "-s", "UUID", device],
                          capture_output=True, text=True).stdout.strip()


def probe(device):
    """`blkid -p` on the device: (exit code, its KEY=value output as a dict)."""
    result = subprocess.run(["blkid", "-p", "-o", "export", device], capture_output=True, text=True)
    return result.returncode, dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def digest(device):
    with open(device, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mounted(device):
    return subprocess.run(["findmnt", "--source", device], capture_output=True).returncode == 0


def ext4_with_a_file(image, tmp_path):
    """mkfs.ext4 on the image and a model file written into it (through a loop mount of its own)."""
    sh("mkfs.ext4", "-q", "-L", "models", str(image))
    check = tmp_path / "check"
    check.mkdir()
    sh("mount", "-o", "loop", str(image), str(check))
    try:
        (check / "demo.mar").write_bytes(b"model bytes")
    finally:
        sh("umount", str(check))


def ext4_uuid(device):
    """The UUID in the ext4 superblock itself (read even where blkid -p sees more than one signature)."""
    line = next(x for x in sh("tune2fs", "-l", device).splitlines() if x.startswith("Filesystem UUID:"))
    return line.split(":", 1)[1].strip()


def file_survives(device, tmp_path):
    """demo.mar is still in the ext4 filesystem on the device (mounted read-only, type given explicitly)."""
    check = tmp_path / "check"
    check.mkdir(exist_ok=True)
    sh("mount", "-t", "ext4", "-o", "ro", device, str(check))
    try:
        return (check / "demo.mar").read_bytes() == b"model bytes"
    finally:
        sh("umount", str(check))


def overwrite(image, offset, data):
    with open(image, "r+b") as f:
        f.seek(offset)
        f.write(data)


def fat_boot_sector(tmp_path):
    """The first 512 bytes of a fresh FAT filesystem: a boot sector with the FAT signature and 0x55AA."""
    fat = tmp_path / "fat.img"
    with open(fat, "wb") as f:
        f.truncate(8 * MIB)
    sh("mkfs.vfat", str(fat))
    sector = fat.read_bytes()[:512]
    assert sector[510:512] == b"\x55\xaa"
    return sector


def assert_refused(result, device, before, *message):
    assert result.returncode != 0, result.stdout + result.stderr
    assert "REFUSING" in result.stderr and NOT_FORMATTING in result.stderr, result.stderr
    for part in message:
        assert part in result.stderr, result.stderr
    assert "creating ext4" not in result.stdout and "mounted at" not in result.stdout
    assert digest(device) == before, "the device changed: the script wrote to a volume it should have refused"
    assert not mounted(device)


def test_formats_once_then_never_again(loop_device, tmp_path):
    assert probe(loop_device)[0] == 2  # blank: no signature
    fstab, mount_point = tmp_path / "fstab", tmp_path / "srv-models"
    first = run(loop_device, fstab, mount_point)
    try:
        assert first.returncode == 0, first.stderr
        assert "is blank (no signature, first MiB zeros); creating ext4" in first.stdout
        original = uuid(loop_device)
        assert original and probe(loop_device)[1]["TYPE"] == "ext4"
        (mount_point / "demo.mar").write_bytes(b"model bytes")
    finally:
        subprocess.run(["umount", str(mount_point)])
    second = run(loop_device, fstab, mount_point)  # e.g. the next boot, or a replaced instance
    try:
        assert second.returncode == 0, second.stderr
        assert "already holds ext4; not formatting" in second.stdout
        assert "creating ext4" not in second.stdout
        assert uuid(loop_device) == original
        assert (mount_point / "demo.mar").read_bytes() == b"model bytes"
        entries = fstab.read_text().splitlines()
        assert entries == [f"UUID={original} {mount_point} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2"]
        third = run(loop_device, fstab, mount_point)  # already mounted: nothing changes
        assert third.returncode == 0 and fstab.read_text().splitlines() == entries
        assert "creating ext4" not in third.stdout and uuid(loop_device) == original
    finally:
        subprocess.run(["umount", str(mount_point)])


def test_existing_ext4_is_mounted_not_reformatted(image, tmp_path, request):
    ext4_with_a_file(image, tmp_path)
    device = request.getfixturevalue("loop_device")
    rc, found = probe(device)
    assert rc == 0 and found["TYPE"] == "ext4" and "PTTYPE" not in found
    original = uuid(device)
    fstab, mount_point = tmp_path / "fstab", tmp_path / "srv-models"
    result = run(device, fstab, mount_point)
    try:
        assert result.returncode == 0, result.stderr
        assert "already holds ext4; not formatting" in result.stdout
        assert f"UUID={original} mounted at {mount_point}" in result.stdout
        assert uuid(device) == original
        assert (mount_point / "demo.mar").read_bytes() == b"model bytes"
        assert fstab.read_text().splitlines() == [
            f"UUID={original} {mount_point} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2"]
    finally:
        subprocess.run(["umount", str(mount_point)])


def test_ext4_with_a_stray_fat_boot_sector_is_refused(image, tmp_path, request):
    """The reproduced incident: ext4 (superblock at 1024 intact) plus a FAT boot sector over sector 0 is
    ambiguous to blkid -p (exit 8); it used to be reformatted. Now it is refused and left as it was."""
    ext4_with_a_file(image, tmp_path)
    overwrite(image, 0, fat_boot_sector(tmp_path))
    device = request.getfixturevalue("loop_device")
    assert probe(device)[0] == 8  # ambivalent result
    original, before = ext4_uuid(device), digest(device)
    fstab = tmp_path / "fstab"
    result = run(device, fstab, tmp_path / "srv-models")
    assert_refused(result, device, before, "ambiguous signatures (exit 8")
    assert not fstab.exists()
    # the ext4 filesystem is exactly the one that was there: same UUID, the file still in it
    assert ext4_uuid(device) == original
    assert file_survives(device, tmp_path)


@pytest.mark.parametrize("label", ["gpt", "dos"])
def test_a_partition_table_is_refused(image, tmp_path, request, label):
    sh("sfdisk", "--quiet", str(image), input=f"label: {label}\n,,L\n")
    device = request.getfixturevalue("loop_device")
    rc, found = probe(device)
    assert rc == 0 and found["PTTYPE"] == label and "TYPE" not in found
    before = digest(device)
    result = run(device, tmp_path / "fstab", tmp_path / "srv-models")
    assert_refused(result, device, before, f"partition table (PTTYPE={label})")
    assert sh("sfdisk", "--dump", device).count("type=") == 1  # the table and its one partition intact


def test_ext4_under_a_partition_table_is_refused(image, tmp_path, request):
    """A stray MBR over an ext4 volume: blkid -p exits 0 with TYPE=ext4 AND PTTYPE=dos. Not a bare ext4
    volume as this script makes them (mkfs.ext4 zeroes sector 0), so it is not mounted either."""
    ext4_with_a_file(image, tmp_path)
    mbr = tmp_path / "mbr.img"
    with open(mbr, "wb") as f:
        f.truncate(8 * MIB)
    sh("sfdisk", "--quiet", str(mbr), input="label: dos\n,,L\n")
    overwrite(image, 0, mbr.read_bytes()[:512])
    device = request.getfixturevalue("loop_device")
    rc, found = probe(device)
    assert rc == 0 and found["TYPE"] == "ext4" and found["PTTYPE"] == "dos"
    original, before = ext4_uuid(device), digest(device)
    result = run(device, tmp_path / "fstab", tmp_path / "srv-models")
    assert_refused(result, device, before, "partition table (PTTYPE=dos, TYPE=ext4)")
    assert ext4_uuid(device) == original
    assert file_survives(device, tmp_path)


def test_unrecognised_bytes_are_refused(image, tmp_path, request):
    """No signature blkid knows (exit 2) is not enough: random bytes in the first MiB are data."""
    overwrite(image, 0, os.urandom(MIB))
    device = request.getfixturevalue("loop_device")
    assert probe(device)[0] == 2
    before = digest(device)
    result = run(device, tmp_path / "fstab", tmp_path / "srv-models")
    assert_refused(result, device, before, "no signature (exit 2) but the first MiB is not all zeros")


def test_a_single_nonzero_byte_is_refused(image, tmp_path, request):
    overwrite(image, MIB - 1, b"\x01")
    device = request.getfixturevalue("loop_device")
    assert probe(device)[0] == 2
    before = digest(device)
    result = run(device, tmp_path / "fstab", tmp_path / "srv-models")
    assert_refused(result, device, before, "the first MiB is not all zeros")


def test_another_filesystem_is_refused(image, tmp_path, request):
    sh("mkfs.vfat", str(image))
    device = request.getfixturevalue("loop_device")
    rc, found = probe(device)
    assert rc == 0 and found["TYPE"] == "vfat"
    original, before = uuid(device), digest(device)
    result = run(device, tmp_path / "fstab", tmp_path / "srv-models")
    assert_refused(result, device, before, "type 'vfat', not ext4")
    assert uuid(device) == original


def test_missing_device_fails_clearly(tmp_path):
    assert os.geteuid() == 0, "the mount-script test needs root"
    result = run("/dev/nonexistent-ebs", tmp_path / "fstab", tmp_path / "m")
    assert result.returncode == 1 and "did not appear within 5s" in result.stderr
