"""A larger seeded run of the differential validation test (issue 16).

    python bench/differential.py                 # 40 seeds on the valid example, 4 on the seed guide
    python bench/differential.py --seeds 200 --guide-seeds 10

Each seed mutates a base graph (tests/test_validate_differential.py: one mutation per
property shape, with seeded focus nodes and kinds, plus subclass targets, literal and
blank focus nodes, datatypes the store rewrites and lexical forms the engines read
differently), validates it with one plain pySHACL call, and with every store path kg
has (1 and 2 workers, both screen forms, given focus nodes), and counts the results
on which a path disagrees. Bases: the valid example of tests/test_shapes.py (248
triples) and the seed guide's default graph (about 3,200 triples). Prints the number
of results compared, the disagreements (0 is the target) and the median seconds of
plain pySHACL and of the store's whole validation, with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--guide-seeds", type=int, default=4)
    args = parser.parse_args()

    import pyoxigraph as ox

    from kg.export import export_file
    from kg.pipeline import build
    from kg.store import open_store
    from kg.validate import validate_files
    from tests import test_validate_differential as diff
    from tests.conftest import SEED

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        assert build([SEED], store=tmp_path / "seed").written
        guide = tmp_path / "guide.nt"
        export_file(open_store(tmp_path / "seed"), "ntriples", guide)
        bases = [("valid example", diff.VALID, "turtle", args.seeds),
                 ("seed guide", guide.read_text(encoding="utf-8"), "nt", args.guide_seeds)]
        failures = 0
        for label, text, fmt, seeds in bases:
            compared = disagreements = 0
            plain_s, store_s = [], []
            for seed in range(seeds):
                data, _done = diff.mutated(seed, base=(text, fmt))
                file = tmp_path / f"{label}-{seed}.nt"
                file.write_text(data.serialize(format="nt"), encoding="utf-8")
                start = time.perf_counter()
                expected = diff.reference(file)
                plain_s.append(time.perf_counter() - start)
                triples = list(ox.parse(path=str(file)))
                start = time.perf_counter()
                paths = diff._store_paths(tmp_path / f"store-{label}-{seed}", triples)
                store_s.append((time.perf_counter() - start) / len(paths))
                paths["kg validate FILE"] = diff._kg(validate_files([file]))
                for name, found in paths.items():
                    compared += sum(expected.values())
                    bad = sum(((expected - found) + (found - expected)).values())
                    if bad:
                        print(f"  {label} seed {seed}: {name} disagrees on {bad} result(s)")
                    disagreements += bad
            failures += disagreements
            plain, store = statistics.median(plain_s), statistics.median(store_s)
            print(f"{label}: {seeds} seeds, {compared:,} results compared over {len(paths)} paths, "
                  f"{disagreements} disagreements; median plain pySHACL {plain:.2f} s, "
                  f"store validation {store:.2f} s a path ({store / plain:.2f}x)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
