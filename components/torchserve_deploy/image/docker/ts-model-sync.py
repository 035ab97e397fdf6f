#!/opt/venv/bin/python
"""Copy the model archives (*.mar) under s3://BUCKET/PREFIX into DEST before the server starts (the fleet's
init container). Each file is written under a temporary name and renamed, so a reader never sees half an
archive; nothing is deleted. Credentials come from the task role (ECS container credentials).

usage: ts-model-sync s3://BUCKET/PREFIX DEST
       ts-model-sync --source-dir DIR DEST     (a local directory in place of the bucket: tests, air-gapped runs)
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def _copy_local(source: Path, dest: Path) -> list[str]:
    names = sorted(p.name for p in source.glob("*.mar") if p.is_file() and not p.is_symlink())
    for name in names:
        tmp = dest / f".{name}.part"
        shutil.copyfile(source / name, tmp)
        os.replace(tmp, dest / name)
    return names


def _copy_s3(uri: str, dest: Path) -> list[str]:
    import boto3  # only the S3 path needs it

    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3")
    names = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix):]
            if not name.endswith(".mar") or "/" in name or name.startswith("."):
                continue
            tmp = dest / f".{name}.part"
            s3.download_file(bucket, obj["Key"], str(tmp))
            os.replace(tmp, dest / name)
            names.append(name)
    return sorted(names)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--source-dir":
        names = _copy_local(Path(argv[1]), Path(argv[2]))
    elif len(argv) == 2 and argv[0].startswith("s3://"):
        names = _copy_s3(argv[0], Path(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 64
    if not names:
        print(f"ts-model-sync: no .mar found in {argv[-2]}", file=sys.stderr)
        return 1
    print("ts-model-sync: " + ", ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
