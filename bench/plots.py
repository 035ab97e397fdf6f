"""PNG plots for docs/benchmarks.md: throughput and latency percentiles per configuration, per model."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.stats import median, spread


def serving(raw: dict, folder: Path) -> list[Path]:
    """raw: {model: {config: [run results, each with rps, p50_ms, p90_ms, p99_ms]}} → one PNG per model."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for model, configs in raw.items():
        names = list(configs)
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
        rps = [[r["rps"] for r in configs[n]] for n in names]
        meds = [median(v) for v in rps]
        errs = [[m - spread(v)[0] for m, v in zip(meds, rps, strict=True)],
                [spread(v)[1] - m for m, v in zip(meds, rps, strict=True)]]
        left.barh(names, meds, xerr=errs, color="#4c72b0", capsize=3)
        left.set_xlabel("requests/s (median, min–max bars)")
        left.set_title(f"{model}: throughput")
        for n in names:
            points = [median([r[f"{p}_ms"] for r in configs[n]]) for p in ("p50", "p90", "p99")]
            right.plot(["p50", "p90", "p99"], points, marker="o", label=n)
        right.set_ylabel("latency, ms (median of runs)")
        right.set_title(f"{model}: latency percentiles")
        right.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"serving-{model}.png"
        fig.savefig(path, dpi=90, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    return paths


def startup(phases: dict[str, dict[str, float | None]], folder: Path) -> Path:
    """Stacked bars: each configuration's start-to-READY by phase (medians)."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    labels = list(phases)
    names = [p for p in next(iter(phases.values()))]
    left = [0.0] * len(labels)
    for name in names:
        widths = [phases[label][name] or 0.0 for label in labels]
        ax.barh(labels, widths, left=left, label=name)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlabel("seconds from container start (median of runs)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = folder / "startup.png"
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return path


def sweep(model: str, results, winner, p99_bound_ms: float, path: Path) -> Path:
    """The tuner's trials: throughput against p99, the bound as a line, the winner circled."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in results:
        ax.scatter(r.p99_ms, r.rps, color="#4c72b0")
        ax.annotate(r.trial.label(), (r.p99_ms, r.rps), fontsize=6)
    ax.scatter(winner.p99_ms, winner.rps, s=200, facecolors="none", edgecolors="#c44e52", label="recommended")
    ax.axvline(p99_bound_ms, color="#c44e52", linestyle="--", label=f"p99 bound {p99_bound_ms} ms")
    ax.set_xlabel("p99 latency, ms")
    ax.set_ylabel("requests/s")
    ax.set_title(f"make tune: {model} (w workers, b batch, d delay ms, t torch threads, L CPU launcher)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return path
