"""`make bench`: run every benchmark part and write bench/results.json and docs/benchmarks.md."""
from bench import images
from bench.results import write


def main() -> None:
    measurements = images.run()
    write(measurements, "make bench")
    for m in measurements:
        print(f"{m.name}: {m.value} {m.unit} (baseline {m.baseline} {m.unit}, ratio {m.ratio})")


if __name__ == "__main__":
    main()
