#!/bin/sh
# Starts TorchServe's Java frontend with exec, so it is PID 1: when TorchServe dies the container
# exits (and its restart policy brings it back), and `docker stop` reaches Java directly.
# Upstream's entrypoint daemonizes TorchServe and keeps the container alive with `tail -f /dev/null`.
set -eu

if [ "${1:-serve}" != "serve" ]; then
    exec "$@"
fi

config="${TS_CONFIG_FILE:-/home/model-server/config.properties}"
[ -f "$config" ] || { echo "ts-entrypoint: config file $config not found" >&2; exit 64; }
store=$(sed -n 's/^model_store=//p' "$config" | tail -n 1)
store="${store:-/home/model-server/model-store}"
[ -d "$store" ] || { echo "ts-entrypoint: model store $store not found" >&2; exit 64; }

ts_home=$(python -c 'import os, ts; print(os.path.dirname(os.path.dirname(os.path.realpath(ts.__file__))))')
# vmargs from config.properties, as `torchserve --start` would pass them (word splitting intended).
vmargs=$(sed -n 's/^vmargs=//p' "$config" | tail -n 1)

cd /home/model-server
# shellcheck disable=SC2086
exec java -Dmodel_server_home="$ts_home" -Djava.io.tmpdir="${TEMP:-/tmp}" $vmargs \
    -cp ".:$ts_home/ts/frontend/*" org.pytorch.serve.ModelServer \
    --python "$(command -v python)" -f "$config" -s "$store" -ncs
