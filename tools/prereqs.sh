#!/bin/sh
# The system prerequisites of `make test` (Debian 12, Ubuntu 22.04/24.04): the Docker engine, debootstrap,
# Java 17 (and its jdeps), docker-compose, cloud-init, wrk, Prometheus (make observe and its test), the loop-device
# tools of the mount-script test, python3-venv.
#   all present:                      silent, exit 0
#   missing, root, apt-get:           apt-get update once, then install exactly the missing packages
#   missing, not root, apt-get:       print the one install command, exit 1 (before any other work)
#   missing, no apt-get:              list the missing tools, exit 1
# For tests: PREREQS_PATH looks the tools up on that PATH only; PREREQS_ASSUME_NOT_ROOT=1 never installs.
set -eu

# sbin directories too: a non-root PATH often lacks them (losetup, blkid, mkfs.*, dockerd live there).
lookup=${PREREQS_PATH:-$PATH:/usr/local/sbin:/usr/sbin:/sbin}

have() { (PATH=$lookup; command -v "$1") >/dev/null 2>&1; }

# need TOOL PACKAGE: record a missing tool and its Debian package (each package once).
need() {
    tools="$tools $1"
    report="$report  $1 (Debian/Ubuntu package $2)
"
    case " $packages " in
        *" $2 "*) ;;
        *) packages="${packages:+$packages }$2" ;;
    esac
}

check() { have "$1" || need "$1" "$2"; }

scan() {
    tools="" report="" packages=""
    check dockerd docker.io
    check docker docker.io
    check debootstrap debootstrap
    check java openjdk-17-jre-headless
    # jdeps checks the image's jlink'd Java module list against TorchServe's frontend (tests/test_java_modules.py).
    check jdeps openjdk-17-jdk-headless
    check docker-compose docker-compose
    check cloud-init cloud-init
    check wrk wrk
    check prometheus prometheus
    check promtool prometheus
    check losetup mount
    check mount mount
    check blkid util-linux
    check mountpoint util-linux
    check mkfs.ext4 e2fsprogs
    check mkfs.vfat dosfstools
    # `python3 -m venv` needs ensurepip, which Debian and Ubuntu ship in python3-venv (it pulls python3 in).
    (PATH=$lookup; python3 -c 'import ensurepip, venv') >/dev/null 2>&1 || need "python3-venv" python3-venv
}

scan
if [ -z "$packages" ]; then exit 0; fi

if ! have apt-get; then
    echo "prereqs: make test needs these tools, which are not installed:" >&2
    printf '%s' "$report" >&2
    echo "prereqs: install them with this system's package manager, then run make test again." >&2
    exit 1
fi

if [ "${PREREQS_ASSUME_NOT_ROOT:-}" = 1 ] || [ "$(id -u)" -ne 0 ]; then
    echo "prereqs: make test needs system packages that are not installed (missing:$tools)." >&2
    echo "prereqs: install them as root, then run make test again:" >&2
    echo "sudo apt-get install -y --no-install-recommends $packages" >&2
    exit 1
fi

echo "prereqs: installing $packages (missing:$tools)"
apt-get update
# Word splitting of $packages is intended: one argument per package name.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages

scan
if [ -n "$packages" ]; then
    echo "prereqs: still missing after apt-get install:" >&2
    printf '%s' "$report" >&2
    exit 1
fi
