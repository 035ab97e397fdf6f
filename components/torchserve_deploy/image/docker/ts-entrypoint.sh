#!/bin/sh
# Starts TorchServe's Java frontend with exec, so it is PID 1: when TorchServe dies the container exits (and
# its restart policy brings it back), and `docker stop` reaches Java directly. Upstream's entrypoint
# daemonizes TorchServe and keeps the container alive with `tail -f /dev/null`.
# TorchServe works in TS_RUN_DIR (key_file.json) and TEMP; both may be tmpfs on a read-only root.
# With TS_HEALTH_PORT set, a token-free health endpoint (GET /healthz: 200 only when every model in
# TS_HEALTH_MODELS has all workers READY) runs beside it, restarted if it ever stops.
set -eu

if [ "${1:-serve}" != "serve" ]; then
    exec "$@"
fi

run_dir="${TS_RUN_DIR:-/run/torchserve}"
[ -w "$run_dir" ] || { echo "ts-entrypoint: $run_dir is not writable (mount a tmpfs there)" >&2; exit 64; }
if [ -n "${TS_CONFIG_PROPERTIES:-}" ]; then
    # Runtimes that cannot place files (ECS) pass config.properties in the environment.
    printf '%s\n' "$TS_CONFIG_PROPERTIES" > "$run_dir/config.properties"
    TS_CONFIG_FILE="$run_dir/config.properties"
fi
config="${TS_CONFIG_FILE:-/home/model-server/config.properties}"
[ -f "$config" ] || { echo "ts-entrypoint: config file $config not found" >&2; exit 64; }
store=$(sed -n 's/^model_store=//p' "$config" | tail -n 1)
store="${store:-/home/model-server/model-store}"
[ -d "$store" ] || { echo "ts-entrypoint: model store $store not found" >&2; exit 64; }
ts_home=$(python -c 'import os, ts; print(os.path.dirname(os.path.dirname(os.path.realpath(ts.__file__))))')
# vmargs from config.properties, as `torchserve --start` would pass them (word splitting intended).
vmargs=$(sed -n 's/^vmargs=//p' "$config" | tail -n 1)

if [ -n "${TS_HEALTH_PORT:-}" ]; then
    # shellcheck disable=SC2086
    (while :; do /usr/local/bin/ts-healthcheck --serve "$TS_HEALTH_PORT" ${TS_HEALTH_MODELS:-}; sleep 1; done) &
fi

cd "$run_dir"
# shellcheck disable=SC2086
exec java -Dmodel_server_home="$ts_home" -Djava.io.tmpdir="${TEMP:-/tmp}" \
    -Dlog4j.configurationFile=/etc/torchserve/log4j2.xml $vmargs \
    -cp ".:$ts_home/ts/frontend/*" org.pytorch.serve.ModelServer \
    --python "$(command -v python)" -f "$config" -s "$store" -ncs
