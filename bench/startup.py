"""`kg --help` against `python -c "import rdflib"`, the same run (issue 15, item 1).

    python bench/startup.py            # 15 runs of each, alternating

The CLI imports the library inside its commands, so asking for help (or for shell
completion) loads click and kg's light modules only. Prints the medians and the
ratio; target: `kg --help` faster than importing rdflib alone.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _time(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    help_times, rdflib_times = [], []
    for _ in range(runs):
        help_times.append(_time([sys.executable, "-m", "kg", "--help"]))
        rdflib_times.append(_time([sys.executable, "-c", "import rdflib"]))
    h, r = statistics.median(help_times), statistics.median(rdflib_times)
    print(f"kg --help: median {h * 1000:.0f} ms; python -c 'import rdflib': median {r * 1000:.0f} ms "
          f"({runs} runs each)")
    print(f"ratio {h / r:.2f}x -> {'PASS' if h < r else 'FAIL'} (target: below 1x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
