"""`make observe STACK=<local stack>`: Prometheus (Debian's package) scraping the stack's container.

usage: python -m infra.observe --stack dev [--port 9091] [--check]

Writes .build/observe/<stack>/prometheus.yml and rules.yml, checks them with promtool, then runs Prometheus
in the foreground on 127.0.0.1:<port> (Ctrl-C stops it; its data stays in .build/observe/<stack>/data, two
days). It scrapes TorchServe's own metrics (the stack's metrics port: request counts, inference and queue
latency per model, host CPU/memory) and the health endpoint's /metrics (workers per model and state). The
recording rules (RULES) turn counters into the per-model figures a person decides on; the README lists them
with the queries to type. AWS stacks have their CloudWatch dashboard and alarms instead (aws/observability.py).
Without Prometheus: as root on Debian/Ubuntu it installs the `prometheus` package, else prints the command.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from infra.offline import ROOT, committed_stacks, stack_settings

DEFAULT_PORT = 9091  # beside the Debian package's own service on 9090
RATE = "[1m]"
RULES: dict[str, str] = {
    "model:ts_requests:rate1m": f"sum by (model_name) (rate(ts_inference_requests_total{RATE}))",
    "model:ts_inference_latency_ms:mean1m":
        f"sum by (model_name) (rate(ts_inference_latency_microseconds{RATE})) / 1000"
        f" / sum by (model_name) (rate(ts_inference_requests_total{RATE}))",
    "model:ts_queue_latency_ms:mean1m":
        f"sum by (model_name) (rate(ts_queue_latency_microseconds{RATE})) / 1000"
        f" / sum by (model_name) (rate(ts_inference_requests_total{RATE}))",
    "server:ts_5xx:rate1m": f"sum(rate(Requests5XX{RATE})) or vector(0)",
    "model:ts_workers_ready": 'sum by (model) (torchserve_workers{status="READY"})',
    "model:ts_workers_not_ready": 'sum by (model) (torchserve_workers{status!="READY"}) or vector(0)',
}
"""Recording rules: per model requests/s, mean inference and queue latency (TorchServe exports counters, not
histograms: percentiles come from the access log), server 5xx/s, workers READY and not READY."""


class Refused(Exception):
    pass


def targets(stack: str) -> dict[str, str]:
    """job → host:port of the stack's published metrics and health ports (a wildcard bind is read on loopback)."""
    if stack not in committed_stacks():
        raise Refused(f"make observe: no stack {stack!r}: STACK is one of {', '.join(committed_stacks())}")
    s = stack_settings(stack)
    if s.host != "local":
        raise Refused(f"make observe: stack {stack} runs on {s.host}, not on this machine: its CloudWatch dashboard "
                      f"torchserve-{stack} and alarms watch it (README, Observability)")
    def near(bind: str) -> str:
        return "127.0.0.1" if bind == "0.0.0.0" else bind
    return {"torchserve": f"{near(s.server.metrics_bind)}:{s.server.metrics_port}",
            "torchserve-health": f"{near(s.server.inference_bind)}:{s.server.health_port}"}


def render(stack: str, out: Path, scrape_s: int = 5) -> Path:
    """Write prometheus.yml and rules.yml for the stack into `out`; returns the config's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "torchserve", "rules": [
        {"record": name, "expr": expr} for name, expr in RULES.items()]}]}, sort_keys=False))
    labels = {"stack": stack}
    config = {"global": {"scrape_interval": f"{scrape_s}s", "evaluation_interval": f"{scrape_s}s"},
              "rule_files": ["rules.yml"],
              "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target], "labels": dict(labels)}]}
                                 for job, target in targets(stack).items()]}
    path = out / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def binaries() -> tuple[str, str]:
    """prometheus and promtool, installed from Debian's package when missing (as root), else Refused."""
    found = [shutil.which(b, path=os.environ.get("PATH", "") + ":/usr/bin") for b in ("prometheus", "promtool")]
    if all(found):
        return found[0], found[1]  # type: ignore[return-value]
    command = "apt-get install -y --no-install-recommends prometheus"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Refused(f"make observe needs Prometheus (Debian/Ubuntu package prometheus): sudo {command}")
    print(f"make observe: installing Prometheus ({command})", flush=True)
    subprocess.run(["apt-get", "update"], check=True)
    subprocess.run(command.split(), check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return binaries()


def command(prometheus: str, config: Path, port: int) -> list[str]:
    return [prometheus, f"--config.file={config}", f"--storage.tsdb.path={config.parent / 'data'}",
            "--storage.tsdb.retention.time=2d", f"--web.listen-address=127.0.0.1:{port}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make observe", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--port", type=int, default=os.environ.get("OBSERVE_PORT", str(DEFAULT_PORT)))
    parser.add_argument("--check", action="store_true", help="write and check the config, do not start Prometheus")
    args = parser.parse_args(argv)
    if not 1024 <= args.port <= 65535:
        print(f"make observe: OBSERVE_PORT {args.port} is not a port from 1024 to 65535", file=sys.stderr)
        return 2
    try:
        config = render(args.stack, ROOT / ".build/observe" / args.stack)
        prometheus, promtool = binaries()
    except Refused as problem:
        print(problem, file=sys.stderr)
        return 2
    except ValueError as bad:
        print(f"make observe: {bad}", file=sys.stderr)
        return 2
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    if checked.returncode != 0:
        print(f"make observe: promtool refused {config}:\n{checked.stdout}{checked.stderr}", file=sys.stderr)
        return 1
    if args.check:
        print(f"make observe: {config} and its rules are valid")
        return 0
    print(f"make observe: Prometheus on http://127.0.0.1:{args.port} scraping {', '.join(targets(args.stack).values())}"
          f"; try {', '.join(RULES)} (README, Observability). Ctrl-C stops it.", flush=True)
    try:
        return subprocess.run(command(prometheus, config, args.port)).returncode
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
