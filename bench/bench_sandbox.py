"""What the sandbox costs: one pytest-with-coverage run of an example component, sandboxed vs not.

Alternates bubblewrap and `SPEC2PROD_SANDBOX=off` on fresh copies of the same tree, so both see the same
machine load, and prints the median of each and their ratio. Not a test: run it by hand (`make bench`).

    python bench/bench_sandbox.py [--repeat 5] [--component calculator]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from spec2prod_assets.runtime.sandbox import SANDBOX_ENV
from spec2prod_assets.testing.pytest_run import run_tests

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "demo"
MODES = ("bubblewrap", "off")


def one_run(mode: str, component: str) -> float:
    """Seconds for one `run_tests` on a fresh copy of the component, in the given sandbox mode."""
    if mode == "off":
        os.environ[SANDBOX_ENV] = "off"
    else:
        os.environ.pop(SANDBOX_ENV, None)
    with tempfile.TemporaryDirectory(prefix="spec2prod-bench-") as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(EXAMPLE / "src" / component, tree / "src" / component)
        shutil.copytree(EXAMPLE / "tests" / component, tree / "tests" / component)
        started = time.perf_counter()
        run = run_tests(
            tree,
            source_path=f"src/{component}",
            test_paths=[f"tests/{component}"],
            pythonpath="src",
            output_dir=Path(scratch) / "results",
            timeout_s=300,
        )
        elapsed = time.perf_counter() - started
    if run.passed == 0:
        raise SystemExit(f"{mode}: no test passed, nothing was measured")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--component", default="calculator")
    args = parser.parse_args()
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(args.repeat):
        for mode in MODES:
            results[mode].append(one_run(mode, args.component))
    medians = {mode: statistics.median(times) for mode, times in results.items()}
    for mode in MODES:
        print(f"{mode:<11} median {medians[mode]:.3f} s over {args.repeat} runs")
    print(f"sandboxed / unsandboxed = {medians['bubblewrap'] / medians['off']:.2f}")


if __name__ == "__main__":
    main()
