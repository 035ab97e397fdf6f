#!/bin/sh
# Makes this instance a GPU Docker host, then proves it; run by gpu-host-setup.service on every boot.
# AMI_ROUTE=dlami: driver, Docker and the NVIDIA Container Toolkit come with the AMI; only verify.
# AMI_ROUTE=ubuntu: install the server driver branch (pre-built, signed modules for the AWS kernel),
#   Docker and the toolkit, register the nvidia runtime, reboot once if the kernel or modules changed,
#   and verify after the reboot. Installs are never `|| true`d: a failure fails the unit.
# Readiness: $READY_MARKER (on /run: cleared by every boot) is written only after nvidia-smi and a GPU
#   container both work on this boot; torchserve.service refuses to start without it.
# No permanent kernel hold: the -aws module meta package follows the kernel, so security updates and a
#   deliberate AMI bump (a new pinned amiId) keep working; the AMI pin is the patch path.
set -eu
# shellcheck disable=SC1091
. /etc/torchserve-deploy/host.env

state=/var/lib/gpu-host
mkdir -p "$state" "$(dirname "$READY_MARKER")"
rm -f "$READY_MARKER"
export DEBIAN_FRONTEND=noninteractive

install_ubuntu() {
    flavor_suffix=""
    [ "$DRIVER_FLAVOR" = "open" ] && flavor_suffix="-open"
    apt-get update
    apt-get install -y --no-install-recommends ca-certificates curl gnupg docker.io \
        "nvidia-headless-no-dkms-${DRIVER_BRANCH}-server${flavor_suffix}" "nvidia-utils-${DRIVER_BRANCH}-server" \
        "linux-modules-nvidia-${DRIVER_BRANCH}-server${flavor_suffix}-aws"
    curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey \
        | gpg --batch --yes --dearmor -o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
    curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \
        | sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' \
        > /etc/apt/sources.list.d/nvidia-container-toolkit.list
    apt-get update
    apt-get install -y --no-install-recommends nvidia-container-toolkit
    snap install aws-cli --classic
    nvidia-ctk runtime configure --runtime=docker
    systemctl restart docker
    touch "$state/installed"
}

# The CloudWatch agent from AWS's bucket in this region (reachable through the S3 gateway endpoint), its
# signing key checked against the fingerprint AWS publishes before the package's signature is verified.
# Called in a condition (errexit is off there), so every step returns on failure itself.
CWAGENT_KEY=937616F3450B7D806CBD9725D58167303B789C72
install_cloudwatch_agent() {
    [ -x /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl ] && return 0
    base="https://amazoncloudwatch-agent-${REGION}.s3.${REGION}.amazonaws.com"
    dir=$(mktemp -d) || return 1
    export GNUPGHOME="$dir/gnupg"
    mkdir -m 700 "$GNUPGHOME" || return 1
    curl -fsSL -o "$dir/key.gpg" "$base/assets/amazon-cloudwatch-agent.gpg" || return 1
    curl -fsSL -o "$dir/agent.deb" "$base/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb" || return 1
    curl -fsSL -o "$dir/agent.deb.sig" "$base/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb.sig" || return 1
    gpg --batch --quiet --import "$dir/key.gpg" || return 1
    gpg --batch --with-colons --fingerprint | grep -q "^fpr:*${CWAGENT_KEY}:" \
        || { echo "gpu-host-setup: the CloudWatch agent's key is not $CWAGENT_KEY" >&2; return 1; }
    gpg --batch --verify "$dir/agent.deb.sig" "$dir/agent.deb" || return 1
    dpkg -i "$dir/agent.deb" || return 1
    rm -rf "$dir"
}

if [ "$AMI_ROUTE" = "ubuntu" ] && [ ! -f "$state/installed" ]; then
    install_ubuntu
    # New modules load from the next boot (the module package may also bring a newer AWS kernel).
    if [ -f /var/run/reboot-required ] || ! nvidia-smi >/dev/null 2>&1; then
        # No ready marker on this boot: torchserve.service keeps waiting; the checks below run after the reboot.
        echo "gpu-host-setup: rebooting to load the NVIDIA modules (not ready on this boot)"
        systemctl --no-block reboot
        exit 0
    fi
fi

nvidia-smi
# GPU metrics: not fatal (serving does not depend on them), but said loudly (no GPU alarm or dashboard data).
if ! install_cloudwatch_agent || ! /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl \
        -a fetch-config -m ec2 -s -c "file:$CWAGENT_CONFIG"; then
    echo "gpu-host-setup: WARNING: the CloudWatch agent is not running: no GPU metrics" >&2
fi
docker info --format '{{json .Runtimes}}' | grep -q nvidia || { echo "gpu-host-setup: docker has no nvidia runtime" >&2; exit 1; }
/usr/local/sbin/torchserve-fetch image
docker run --rm --gpus all --network none --entrypoint nvidia-smi "$IMAGE" -L
touch "$READY_MARKER"
echo "gpu-host-setup: GPU host ready"
