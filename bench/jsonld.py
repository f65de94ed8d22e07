"""The JSON-LD export against the Turtle export and the old JSON-LD (issue 15, item 3).

    python bench/jsonld.py                     # the default build, 3 runs of each
    python bench/jsonld.py --store DIR --runs 5   # a store already built

Builds the default store (`build(bundled_sources(), store=DIR)`) unless given one, then
times `export_bytes(store, fmt)` for turtle, nquads (every graph, as the new JSON-LD),
jsonld and the old JSON-LD (rdflib's serialiser on the default graph only, kept below
as it was), each export in its own child process, the formats alternating run by run.
Prints the median wall time, the median CPU time (the child's and its `sort`'s), the
peak RSS of the child (`VmHWM`; the store open and idle is shown too) and of its
`sort` (apart: a process of its own), and the ratios to Turtle. Targets: JSON-LD in
at most 2x Turtle's time and half the old JSON-LD's peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("turtle", "nquads", "jsonld", "jsonld-old")


def old_jsonld(store) -> bytes:
    """kg/export.py's JSON-LD before issue 15 (`0fd696fc`): the default graph's sorted
    N-Triples through rdflib's serialiser, then nodes and values sorted."""
    import rdflib

    from kg import export
    from kg.namespaces import PREFIXES

    with export._sorted_ntriples(store) as lines:
        ntriples = lines.read()
    graph = rdflib.Graph()
    graph.parse(data=ntriples, format="nt")
    context = {k: v for k, v in sorted(PREFIXES.items())}
    doc = json.loads(graph.serialize(format="json-ld", context=context, auto_compact=True))
    nodes = doc.get("@graph", [doc] if "@id" in doc else [])
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    nodes.sort(key=lambda n: n.get("@id", ""))
    out = {"@context": doc.get("@context", context), "@graph": nodes}
    return (json.dumps(out, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _peak() -> float:
    """This process's peak RSS in GB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return 0.0


def child(store_dir: str, fmt: str) -> None:
    from kg import export
    from kg import store as stores

    store = stores.open_store(store_dir)
    idle = _peak()
    cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    data = old_jsonld(store) if fmt == "jsonld-old" else export.export_bytes(store, fmt)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    used = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, cpu))
    sort = after[1].ru_maxrss / 1e6  # KB: the largest child waited for (sort)
    print(json.dumps({"wall": wall, "cpu": used, "peak": _peak(), "idle": idle, "sort": sort, "bytes": len(data)}))


def _run(store_dir: str, fmt: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", store_dir, fmt], capture_output=True,
                         text=True, check=True, timeout=1800, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", help="a built store (default: build the default sources)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory(prefix="kg-bench-jsonld-") as folder:
        store_dir = args.store
        if store_dir is None:
            from kg.pipeline import build, bundled_sources

            store_dir = str(Path(folder) / "store")
            began = time.perf_counter()
            result = build(bundled_sources(), store=store_dir)
            print(f"default build: {time.perf_counter() - began:.1f} s, written={result.written}", flush=True)
        runs: dict[str, list[dict]] = {fmt: [] for fmt in formats}
        for i in range(args.runs):
            for fmt in formats:
                runs[fmt].append(_run(store_dir, fmt))
                r = runs[fmt][-1]
                print(f"run {i + 1} {fmt:10} {r['wall']:6.2f} s  cpu {r['cpu']:6.2f} s  "
                      f"peak {r['peak']:.3f} GB", flush=True)
    med = {fmt: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu")} for fmt, rs in runs.items()}
    peak = {fmt: max(r["peak"] for r in rs) for fmt, rs in runs.items()}
    sort = {fmt: max(r["sort"] for r in rs) for fmt, rs in runs.items()}
    base = med.get("turtle")
    print(f"\nexport_bytes on the default build; median of {args.runs} runs, each in its own process")
    print("format     | median s | / turtle | median CPU s | / turtle | peak RSS GB | sort's peak GB | bytes")
    print("---------- | -------- | -------- | ------------ | -------- | ----------- | -------------- | -----")
    for fmt in formats:
        ratio = f"{med[fmt]['wall'] / base['wall']:.2f}x" if base else "-"
        cpu = f"{med[fmt]['cpu'] / base['cpu']:.2f}x" if base else "-"
        print(f"{fmt:10} | {med[fmt]['wall']:8.2f} | {ratio:>8} | {med[fmt]['cpu']:12.2f} | {cpu:>8} | "
              f"{peak[fmt]:11.3f} | {sort[fmt]:14.3f} | {runs[fmt][0]['bytes']}")
    print(f"the store open and idle: {max(r['idle'] for rs in runs.values() for r in rs):.3f} GB")
    if "jsonld" in med and "jsonld-old" in med:
        print(f"jsonld / old jsonld: time {med['jsonld']['wall'] / med['jsonld-old']['wall']:.2f}x, "
              f"peak {peak['jsonld'] / peak['jsonld-old']:.2f}x")
    if base and "jsonld" in med:
        ok = med["jsonld"]["wall"] <= 2 * base["wall"] and \
            ("jsonld-old" not in peak or peak["jsonld"] <= peak["jsonld-old"] / 2)
        print(f"target (<= 2x turtle's time, <= half the old peak): {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
