#!/bin/sh
# Fetches what the serving container needs: `image` logs in to ECR and pulls the image;
# `models` copies the .mar files from S3 into the model store (never deletes what is there).
set -eu
# shellcheck disable=SC1091
. /etc/torchserve-deploy/host.env

case "${1:-}" in
    image)
        aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"
        docker pull "$IMAGE"
        ;;
    models)
        mountpoint -q "$MODEL_STORE_DIR" || { echo "torchserve-fetch: $MODEL_STORE_DIR is not mounted" >&2; exit 1; }
        aws s3 sync --only-show-errors --region "$REGION" "s3://$MODEL_BUCKET/$MODEL_PREFIX" "$MODEL_STORE_DIR"
        ;;
    *)
        echo "usage: torchserve-fetch image|models" >&2
        exit 64
        ;;
esac
