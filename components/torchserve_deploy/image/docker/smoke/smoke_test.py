"""TorchServe smoke test for the codebuild image (run at build time and as the image's CMD).

Archives a weightless model, starts TorchServe on loopback with token auth, waits until its worker
is READY, predicts, checks the answer, and stops. Exit 0 only if all of that worked.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PORT = int(os.environ.get("SMOKE_PORT_BASE", "28080"))
BIN = Path(sys.executable).parent


def call(url, key=None, body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = work / "store"
        store.mkdir()
        subprocess.run([str(BIN / "torch-model-archiver"), "--model-name", "smoke", "--version", "1.0",
                        "--handler", str(HERE / "handler.py"), "--export-path", str(store)], check=True)
        config = work / "config.properties"
        config.write_text("\n".join([
            f"inference_address=http://127.0.0.1:{PORT}", f"management_address=http://127.0.0.1:{PORT + 1}",
            f"metrics_address=http://127.0.0.1:{PORT + 2}", "grpc_inference_address=127.0.0.1",
            f"grpc_inference_port={PORT + 3}", "grpc_management_address=127.0.0.1",
            f"grpc_management_port={PORT + 4}", f"model_store={store}", "load_models=smoke.mar",
            "default_workers_per_model=1", "enable_model_api=false", ""]))
        proc = subprocess.Popen([str(BIN / "torchserve"), "--start", "--foreground", "--ncs", "--ts-config",
                                 str(config), "--model-store", str(store)], cwd=work,
                                start_new_session=True)
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                if proc.poll() is not None:
                    print("smoke: TorchServe exited early", file=sys.stderr)
                    return 1
                try:
                    keys = json.loads((work / "key_file.json").read_text())
                    models = call(f"http://127.0.0.1:{PORT + 1}/models/smoke", keys["management"]["key"])
                    if models[0]["workers"] and all(w["status"] == "READY" for w in models[0]["workers"]):
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(1)
            else:
                print("smoke: model never READY", file=sys.stderr)
                return 1
            answer = call(f"http://127.0.0.1:{PORT}/predictions/smoke", keys["inference"]["key"], {"data": [1, 2, 3.5]})
            if answer != {"sum": 6.5}:
                print(f"smoke: wrong answer {answer}", file=sys.stderr)
                return 1
            print("smoke: OK (archived, served, predicted with a token)")
            return 0
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # torchserve and the Java frontend it started
            proc.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
