"""Name suggestions: difflib against rapidfuzz over every person name of a store (issue 15).

    python bench/suggest.py --store /tmp/show-store     # a store `kg build` made with no sources
    python bench/suggest.py                             # builds the default store first (~10 s)

The misspellings are seeded: names of the store with one character dropped, doubled
or swapped, plus "Samson Tann". Both sides compare folded names as kg.queries.suggest
does: difflib.get_close_matches(cutoff=0.6) as before, rapidfuzz's process.extract
with fuzz.ratio and score_cutoff=60 as now. Prints the median seconds per lookup of
each, the ratio, and how often the two agree on the first suggestion and on all three.
Where they differ, difflib's ratio is the lower: it counts matching blocks found
greedily, rapidfuzz the longest common subsequence.
"""

from __future__ import annotations

import argparse
import difflib
import random
import statistics
import tempfile
import time
from pathlib import Path

from rapidfuzz import fuzz, process

from kg import store as stores
from kg.names import fold
from kg.queries import labels


def misspelt(names: list[str], count: int, seed: int = 15) -> list[str]:
    """`count` names of the store, each with one typo, and the tests' own misspelling."""
    rng = random.Random(seed)
    out = ["Samson Tann"]
    for name in rng.sample(names, count - 1):
        i = rng.randrange(1, max(2, len(name) - 1))
        edit = rng.choice(("drop", "double", "swap"))
        if edit == "drop":
            out.append(name[:i] + name[i + 1:])
        elif edit == "double":
            out.append(name[:i] + name[i] + name[i:])
        else:
            out.append(name[:i - 1] + name[i] + name[i - 1] + name[i + 1:])
    return out


def timed(fn, runs: int) -> tuple[float, list[str]]:
    """Median seconds of `runs` calls, and the answer."""
    times, answer = [], []
    for _ in range(runs):
        start = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="a default build (else one is built)")
    parser.add_argument("--queries", type=int, default=30, help="misspelt names looked up")
    parser.add_argument("--runs", type=int, default=5, help="runs per lookup (median)")
    args = parser.parse_args()
    if args.store is None:
        from kg.pipeline import build, bundled_sources

        args.store = Path(tempfile.mkdtemp(prefix="kg-suggest-")) / "store"
        build(bundled_sources(), store=args.store)
    store = stores.open_store(args.store)
    names = sorted({label for _, label in labels(store, "person")})
    folded: dict[str, str] = {}
    for label in names:
        folded.setdefault(fold(label), label)
    keys = sorted(folded, reverse=True)  # as kg.queries.suggest orders them (ties)
    slow, fast, top1, top3, same = [], [], 0, 0, 0
    for text in misspelt(names, args.queries):
        key = fold(text)
        t_difflib, by_difflib = timed(lambda k=key: difflib.get_close_matches(k, keys, n=3, cutoff=0.6),
                                      args.runs)
        t_rapid, by_rapid = timed(lambda k=key: [m for m, _, _ in process.extract(
            k, keys, scorer=fuzz.ratio, limit=3, score_cutoff=60)], args.runs)
        slow.append(t_difflib)
        fast.append(t_rapid)
        top1 += by_difflib[:1] == by_rapid[:1]
        top3 += set(by_difflib) == set(by_rapid)
        same += by_difflib == by_rapid
    n = len(slow)
    d, r = statistics.median(slow), statistics.median(fast)
    print(f"{len(names):,} person names ({len(keys):,} folded), {n} misspelt names, "
          f"median of {args.runs} runs each")
    print(f"difflib.get_close_matches   median {d * 1000:8.1f} ms per lookup")
    print(f"rapidfuzz process.extract   median {r * 1000:8.1f} ms per lookup")
    print(f"rapidfuzz is {d / r:.0f}x faster; same first suggestion {top1}/{n}, "
          f"same three {top3}/{n}, in the same order {same}/{n}")


if __name__ == "__main__":
    main()
