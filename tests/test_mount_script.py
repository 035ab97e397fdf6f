"""The EBS mount script for real, as root, against a loop device: it formats a blank volume once, and a
second run (with data on it) neither reformats nor loses anything."""
import os
import subprocess

import pytest

from tests.mocks import ROOT

pytestmark = pytest.mark.root
SCRIPT = ROOT / "components/torchserve_deploy/aws/host/mount-model-store.sh"


@pytest.fixture
def loop_device(tmp_path):
    assert os.geteuid() == 0, "the mount-script test needs root (loop devices, mkfs, mount): run make test as root"
    image = tmp_path / "ebs.img"
    with open(image, "wb") as f:
        f.truncate(64 * 1024 * 1024)
    device = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True, text=True)
    assert device.returncode == 0, "no loop device available: " + device.stderr
    yield device.stdout.strip()
    subprocess.run(["losetup", "--detach", device.stdout.strip()])


def run(device, fstab, mount_point):
    env = {**os.environ, "MODEL_STORE_DEVICE": device, "FSTAB": str(fstab), "WAIT_SECONDS": "5"}
    return subprocess.run(["sh", str(SCRIPT), "vol-0123456789abcdef0", str(mount_point)], env=env,
                          capture_output=True, text=True)


def uuid(device):
    return subprocess.run(["blkid", "-o", "value", "-s", "UUID", device], capture_output=True, text=True).stdout.strip()


def test_formats_once_then_never_again(loop_device, tmp_path):
    fstab, mount_point = tmp_path / "fstab", tmp_path / "srv-models"
    first = run(loop_device, fstab, mount_point)
    try:
        assert first.returncode == 0, first.stderr
        assert "is blank; creating ext4" in first.stdout
        original = uuid(loop_device)
        (mount_point / "demo.mar").write_bytes(b"model bytes")
    finally:
        subprocess.run(["umount", str(mount_point)])
    second = run(loop_device, fstab, mount_point)  # e.g. the next boot, or a replaced instance
    try:
        assert second.returncode == 0, second.stderr
        assert "already holds ext4; not formatting" in second.stdout
        assert uuid(loop_device) == original
        assert (mount_point / "demo.mar").read_bytes() == b"model bytes"
        entries = fstab.read_text().splitlines()
        assert entries == [f"UUID={original} {mount_point} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2"]
        third = run(loop_device, fstab, mount_point)  # already mounted: nothing changes
        assert third.returncode == 0 and fstab.read_text().splitlines() == entries
    finally:
        subprocess.run(["umount", str(mount_point)])


def test_missing_device_fails_clearly(tmp_path):
    assert os.geteuid() == 0, "the mount-script test needs root"
    result = run("/dev/nonexistent-ebs", tmp_path / "fstab", tmp_path / "m")
    assert result.returncode == 1 and "did not appear within 5s" in result.stderr
