"""The whole ACL Anthology through kg's pipeline, against rdflib + pySHACL alone.

    python bench/anthology.py                         # everything; the baseline on the whole Anthology
    python bench/anthology.py --baseline-files 100    # baseline (and a kg run) on 100 of the files
    python bench/anthology.py --skip-baseline --runs 20

Issue items 4, 5 and 7. Each measurement runs in its own child process (output to
files, not pipes, as bench/synthetic.py does), so its peak RSS is its own:

* kg: `kg.pipeline.build([xml dir], ..., export=("turtle", file))` into an on-disk store,
  as `kg build --export FILE` does: the Turtle export (the same bytes `kg export -o`
  writes) is written beside compaction and validation, so its stage time overlaps
  theirs and "export wait" is what the build waited for it after them. Stage times
  come from `BuildResult.timings` where the build reports them, else from the
  intervals between its `on_stage` notes.
* rdflib: the same reader and mapping (`read_anthology` -> `map_anthology`), the
  quads converted to rdflib terms into one rdflib Graph (their merge, which is what kg
  validates), `pyshacl.validate` in one call with the project's shapes
  (`kg.validate.validate_graph`) and rdflib's Turtle serialiser. Killed past
  --baseline-timeout seconds or --baseline-max-rss GB. With --baseline-files N it
  runs on N collection files spread over the Anthology, and kg runs on the same N
  as well so that the ratios compare like with like.
* queries: `run_saved` on the built store, parameterised queries for prolific
  authors (median of --runs) and the whole-graph ones (median of 3).
* incremental: `build([guide], add=True)` on the built store, median of 3.

Peak RSS is the most the child's process tree held at once: the larger of its own
VmHWM and the sum of PSS over it and its children (kg validates in worker
processes, which map the same store files), polled every 0.1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANTHOLOGY = REPO.parent / "shared" / "anthology"
GUIDE = REPO / "data" / "amazon-acl-2024-guide.txt"
# prolific Anthology authors; those the store does not know by name are skipped
AUTHORS = ["Noah A. Smith", "Iryna Gurevych", "Dan Roth", "Graham Neubig", "Christopher D. Manning",
           "Hinrich Schütze"]
TARGET_WALL_S, TARGET_GB = 60.0, 2.5  # whole Anthology, build + export
TARGET_QUERY_MS, TARGET_WHOLE_S, TARGET_ADD_S = 20.0, 5.0, 5.0
KG_STAGES = ["parse", "resolve", "map", "load", "compact", "reconcile", "merge", "describe", "validate", "export wait",
             "commit"]


def collection_subset(xml_dir: Path, n: int | None) -> list[Path]:
    """All collection files, or `n` of them evenly spread (old and new, small and large)."""
    from kg.sources.anthology import collection_files
    files = collection_files(xml_dir)
    if n is None or n >= len(files):
        return files
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


def _emit(**record) -> None:
    """One JSON line on stdout (a file): what the parent reads, even from a killed child."""
    print(json.dumps(record), flush=True)


def _hwm_kb(pid: int | str = "self") -> int:
    return _status_kb(pid, "VmHWM:")


def _status_kb(pid, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_kb(pid: int) -> int:
    """Memory held by `pid` and its descendants: the sum of their PSS (RSS would count
    the pages they share, such as the store's files mapped by every worker, each time)."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as rollup:
                total += next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
        except OSError:
            total += _status_kb(p, "VmRSS:")
    return total


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except OSError:
            pass
    return out


# --- children ----------------------------------------------------------------------------

def child_kg(args) -> None:
    """Build + Turtle export with kg's pipeline (`kg build --export`)."""
    from kg.pipeline import build

    files = collection_subset(args.anthology / "xml", args.files)
    sources = [args.anthology / "xml"] if args.files is None else files
    store = Path(args.store)
    notes: list[tuple[str, float]] = []
    start = time.perf_counter()
    target = store.parent / f"{store.name}.ttl"
    target.parent.mkdir(parents=True, exist_ok=True)
    result = build(sources, store=store, name_variants=args.anthology / "yaml" / "name_variants.yaml",
                   on_stage=lambda note: notes.append((note, time.perf_counter())),
                   export=("turtle", target))
    built = time.perf_counter()
    timings = dict(getattr(result, "timings", None) or {})
    if not timings:  # a build without timings: the intervals between its stage notes
        ends = [t for _n, t in notes[1:]] + [built]
        timings = {f"({note})": end - t for (note, t), end in zip(notes, ends)}
    _emit(stage="build", s=built - start, timings=timings, written=result.written,
          conforms=result.report.conforms, quads=result.triples, violations=len(result.report.violations))
    if not result.written:
        _emit(done=True, hwm_kb=_hwm_kb())
        return
    _emit(stage="export", s=timings.get("export", 0.0), bytes=target.stat().st_size)
    _emit(done=True, wall=built - start, hwm_kb=_hwm_kb(), files=len(files))


def child_rdflib(args) -> None:
    """The same reader and mapping, then rdflib + pySHACL + rdflib's Turtle, nothing else."""
    import pyoxigraph as ox
    import rdflib

    from kg.mapping import map_anthology
    from kg.namespaces import PREFIXES
    from kg.pipeline import FileDigests, load_resolver
    from kg.sources.anthology import read_anthology
    from kg.validate import validate_graph

    files = collection_subset(args.anthology / "xml", args.files)
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    start = t = time.perf_counter()
    records = list(read_anthology(files))
    _emit(stage="parse", s=time.perf_counter() - t, records=len(records))
    t = time.perf_counter()
    resolver = load_resolver(args.anthology / "yaml" / "name_variants.yaml")
    _emit(stage="resolve", s=time.perf_counter() - t)  # loading name variants; names resolve in map
    t = time.perf_counter()
    quads = list(map_anthology(records, resolver, FileDigests()))
    del records
    _emit(stage="map", s=time.perf_counter() - t, quads=len(quads))
    t = time.perf_counter()
    terms: dict = {}

    def term(node):
        known = terms.get(node)
        if known is None:
            if isinstance(node, ox.NamedNode):
                known = rdflib.URIRef(node.value)
            elif isinstance(node, ox.BlankNode):
                known = rdflib.BNode(node.value)
            elif node.language:
                known = rdflib.Literal(node.value, lang=node.language)
            else:
                known = rdflib.Literal(node.value, datatype=rdflib.URIRef(node.datatype.value))
            terms[node] = known
        return known

    graph = rdflib.Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    add = graph.add
    for q in quads:
        add((term(q.subject), term(q.predicate), term(q.object)))
    count = len(quads)
    del quads
    terms.clear()
    _emit(stage="load", s=time.perf_counter() - t, triples=len(graph))
    t = time.perf_counter()
    report = validate_graph(graph)
    _emit(stage="validate", s=time.perf_counter() - t, conforms=report.conforms,
          violations=len(report.violations))
    t = time.perf_counter()
    data = graph.serialize(format="turtle", encoding="utf-8")
    Path(args.store).parent.joinpath("rdflib.ttl").write_bytes(data)
    _emit(stage="export", s=time.perf_counter() - t, bytes=len(data))
    _emit(done=True, wall=time.perf_counter() - start, hwm_kb=_hwm_kb(), quads=count, files=len(files))


def child_queries(args) -> None:
    """Saved queries on the built store: per author (median of --runs) and whole-graph (of 3)."""
    from kg import queries
    from kg.errors import KGError
    from kg.store import open_store

    store = open_store(Path(args.store))

    def timed(name: str, params: dict, runs: int, slow: float) -> tuple[float, int, int]:
        """Median, rows, runs: one run first, the rest only if that one took under `slow` s."""
        times, rows = [], 0
        while len(times) < runs and (len(times) < 1 or times[0] < slow):
            t = time.perf_counter()
            rows = len(queries.run_saved(store, name, params).rows)
            times.append(time.perf_counter() - t)
        return statistics.median(times), rows, len(times)

    authors = []
    for name in AUTHORS:
        try:
            queries.find_entity(store, "person", name)
            authors.append(name)
        except KGError:
            continue
    if len(authors) < 3:  # not these names: the most prolific people in the store
        top = queries.run_saved(store, "authors").rows
        authors += [row[0].value for row in top[: 5 - len(authors)]]
    for name in authors:
        for query in ("papers-by-author", "coauthors"):
            median, rows, runs = timed(query, {"author": name}, args.runs, 1.0)
            _emit(query=query, author=name, median=median, runs=runs, rows=rows)
    for query in ("authors", "coauthors"):
        median, rows, runs = timed(query, {}, 3, 60.0)
        _emit(query=query, author=None, median=median, runs=runs, rows=rows)
    _emit(done=True, hwm_kb=_hwm_kb())


def child_add(args) -> None:
    """`build([guide], add=True)` on the built store, 3 times (each replaces the last);
    once only if that takes over a minute."""
    from kg.pipeline import build
    times: list[float] = []
    while len(times) < 3 and (not times or times[0] < 60):
        t = time.perf_counter()
        result = build([GUIDE], store=Path(args.store), add=True)
        times.append(time.perf_counter() - t)
        _emit(stage="add", s=times[-1], written=result.written,
              timings=dict(getattr(result, "timings", None) or {}))
    _emit(done=True, hwm_kb=_hwm_kb())


CHILDREN = {"kg": child_kg, "rdflib": child_rdflib, "queries": child_queries, "add": child_add}


# --- the parent ----------------------------------------------------------------------------

def run_child(mode: str, store: Path, args, files: int | None = None, timeout: float = 7200,
              max_rss_gb: float = 64) -> dict:
    """Run one child to the end (or kill it); its JSON lines, peak RSS and how it ended."""
    argv = [sys.executable, __file__, "--child", mode, "--store", str(store), "--anthology", str(args.anthology),
            "--runs", str(args.runs)] + (["--files", str(files)] if files is not None else [])
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        start, peak, stopped = time.monotonic(), 0, None
        while proc.poll() is None:
            peak = max(peak, _tree_kb(proc.pid), _hwm_kb(proc.pid))
            if time.monotonic() - start > timeout:
                stopped = f"killed after {timeout:.0f} s"
            elif peak > max_rss_gb * 2**20:
                stopped = f"killed past {max_rss_gb:g} GB"
            if stopped:
                for p in reversed(_tree(proc.pid)):
                    try:
                        os.kill(p, 9)
                    except OSError:
                        pass
                proc.wait()
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        lines = [json.loads(line) for line in out.read().splitlines() if line.startswith("{")]
        error = err.read().strip()
    done = next((r for r in lines if r.get("done")), None)
    if done is None and not stopped:
        stopped = f"failed: {error.splitlines()[-1] if error else proc.returncode}"
    if done:
        peak = max(peak, done["hwm_kb"])
    return {"lines": lines, "done": done, "stopped": stopped, "peak_gb": peak / 2**20, "elapsed": elapsed}


def stages(run: dict) -> dict[str, float]:
    """Stage name -> seconds of a kg or rdflib child (what it finished, if killed)."""
    out: dict[str, float] = {}
    for line in run["lines"]:
        if line.get("stage") == "build":
            out.update(line["timings"])
        elif "stage" in line:
            out[line["stage"]] = line["s"]
    return out


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def table(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths))
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(b) for b in body])


def _info(run: dict, key: str):
    return next((line[key] for line in run["lines"] if key in line), None)


def report_pipelines(kg: dict, base: dict | None, kg_sub: dict | None, args, n_files: int) -> list[str]:
    out = []
    kg_stages = stages(kg)
    cols = [("kg whole s", kg_stages)]
    compare = kg_stages
    what = "the whole Anthology"
    if base is not None:
        if kg_sub is not None:
            compare = stages(kg_sub)
            cols.append((f"kg {args.baseline_files} files s", compare))
            what = f"{args.baseline_files} of {n_files} files (kg ran on them too; ratios on those)"
        cols.append(("rdflib s", stages(base)))
    names = [s for s in KG_STAGES if any(s in c for _h, c in cols)]
    names += [s for _h, c in cols for s in c if s not in names and s != "export"]
    names = list(dict.fromkeys(names)) + ["export"]
    body = []
    for name in names:
        row = [name] + [_fmt_s(c.get(name)) for _h, c in cols]
        if base is not None:
            b, k = stages(base).get(name), compare.get(name)
            row.append(f"{b / k:.1f}x" if b is not None and k else "-")
        body.append(row)

    def total(run):
        return run["done"]["wall"] if run and run["done"] else None

    totals = [total(kg)] + ([total(kg_sub)] if kg_sub else []) + ([total(base)] if base else [])
    row = ["total wall"] + [_fmt_s(t) for t in totals]
    if base is not None:
        b, k = total(base), total(kg_sub) if kg_sub else total(kg)
        row.append(f"{b / k:.1f}x" if b and k else (f"> {base['elapsed'] / k:.0f}x" if k else "-"))
    body.append(row)
    runs = [kg] + ([kg_sub] if kg_sub else []) + ([base] if base else [])
    body.append(["peak RSS GB"] + [f"{r['peak_gb']:.2f}" for r in runs]
                + ([f"{base['peak_gb'] / (kg_sub or kg)['peak_gb']:.1f}x"] if base else []))
    quads = [_info(r, "quads") for r in runs]
    body.append(["triples"] + [str(q or "-") for q in quads] + ([""] if base else []))
    body.append(["triples/s"] + [f"{q / total(r):,.0f}" if q and total(r) else "-" for q, r in zip(quads, runs)]
                + ([""] if base else []))
    head = ["stage"] + [h for h, _c in cols] + (["rdflib / kg"] if base else [])
    out.append(f"build + Turtle export; rdflib baseline on {what}" if base else
               "build + Turtle export (baseline skipped)")
    out.append(table(head, body))
    if "export wait" in kg_stages:
        out.append("kg: the export is written beside compaction and validation (its row overlaps "
                   "theirs); `export wait` is what the build waited for it after them")
    if kg["done"]:
        out.append(f"kg: the build's own process peaked at {kg['done']['hwm_kb'] / 2**20:.2f} GB (VmHWM), "
                   f"{(_info(kg, 'bytes') or 0) / 1e6:.0f} MB of Turtle")
    for label, r in (("kg", kg), ("kg subset", kg_sub), ("rdflib", base)):
        if r and r["stopped"]:
            out.append(f"{label}: {r['stopped']} (stages above are those it finished)")
    if base and base["done"]:
        conforms = _info(base, "conforms")
        out.append(f"rdflib: pySHACL conforms={conforms}, {_info(base, 'triples')} distinct triples in the union graph")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--anthology", type=Path, default=ANTHOLOGY, help="folder with xml/ and yaml/")
    parser.add_argument("--store-dir", type=Path, help="keep stores and exports here (default: a temporary dir)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--baseline-files", type=int, help="run the baseline on this many collection files")
    parser.add_argument("--baseline-timeout", type=float, default=1800.0, help="seconds; killed past it")
    parser.add_argument("--baseline-max-rss", type=float, default=16.0, help="GB; killed past it")
    parser.add_argument("--runs", type=int, default=20, help="runs of each per-author query (median)")
    parser.add_argument("--add-timeout", type=float, default=900.0, help="seconds for the incremental runs")
    parser.add_argument("--query-timeout", type=float, default=1200.0, help="seconds for all the queries")
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.anthology = args.anthology.resolve()
    if args.child:
        CHILDREN[args.child](args)
        return 0
    work = args.store_dir or Path(tempfile.mkdtemp(prefix="kg-anthology-"))
    work.mkdir(parents=True, exist_ok=True)
    n_files = len(collection_subset(args.anthology / "xml", None))
    when = time.strftime("%Y-%m-%d %H:%M")
    say = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
    try:
        for old in ("kg", "kg-sub", "add"):
            shutil.rmtree(work / old, ignore_errors=True)
        say(f"kg: build + export of {n_files} files")
        kg = run_child("kg", work / "kg" / "store", args)
        say(f"kg: {kg['stopped'] or 'done'} in {kg['elapsed']:.0f} s, {kg['peak_gb']:.2f} GB")
        qs, adds = None, None
        if kg["done"] and _info(kg, "written"):
            say("queries")
            qs = run_child("queries", work / "kg" / "store", args, timeout=args.query_timeout)
            say("incremental: the guide added 3 times")
            # on a copy, so that the store queried above stays as built
            shutil.copytree(work / "kg", work / "add", symlinks=True)
            adds = run_child("add", work / "add" / "store", args, timeout=args.add_timeout)
        base = kg_sub = None
        if not args.skip_baseline:
            if args.baseline_files:
                say(f"kg on the baseline's {args.baseline_files} files")
                kg_sub = run_child("kg", work / "kg-sub" / "store", args, files=args.baseline_files)
            say(f"rdflib baseline on {args.baseline_files or n_files} files")
            base = run_child("rdflib", work / "rdflib" / "store", args, files=args.baseline_files,
                             timeout=args.baseline_timeout, max_rss_gb=args.baseline_max_rss)
            say(f"rdflib: {base['stopped'] or 'done'} in {base['elapsed']:.0f} s, {base['peak_gb']:.2f} GB")
    finally:
        if not args.store_dir:
            shutil.rmtree(work, ignore_errors=True)
    out = [(f"ACL Anthology benchmark, {when}, {os.cpu_count()} cores; {n_files} collection files, "
            f"{_info(kg, 'quads') or '?'} triples in the kg store's default graph, each also in its collection's graph"), ""]
    out += report_pipelines(kg, base, kg_sub, args, n_files)
    wall = kg["done"]["wall"] if kg["done"] else None
    ok = wall is not None and wall <= TARGET_WALL_S and kg["peak_gb"] <= TARGET_GB
    out.append(f"target whole Anthology build + export <= {TARGET_WALL_S:.0f} s and <= {TARGET_GB} GB: "
               f"{_fmt_s(wall)} s, {kg['peak_gb']:.2f} GB -> {'PASS' if ok else 'FAIL'}")
    if qs is not None:
        body = []
        for r in (line for line in qs["lines"] if "query" in line):
            target = TARGET_QUERY_MS / 1000 if r["author"] else TARGET_WHOLE_S
            body.append([r["query"], r["author"] or "(all)", str(r["runs"]), str(r["rows"]),
                         f"{r['median'] * 1000:.1f}", f"<= {target * 1000:g}",
                         "PASS" if r["median"] <= target else "FAIL"])
        out += ["", "queries (run_saved on the built store; median of the runs)",
                table(["query", "author", "runs", "rows", "median ms", "target ms", ""], body)
                if body else f"queries: {qs['stopped']}"]
        if qs["stopped"]:
            out.append(f"queries: {qs['stopped']} (rows above are those that finished)")
    if adds is not None:
        times = [line["s"] for line in adds["lines"] if line.get("stage") == "add"]
        if times:
            med = statistics.median(times)
            out += ["", (f"incremental: build([{GUIDE.name}], add=True) on the whole-Anthology store: "
                        f"{', '.join(f'{t:.2f}' for t in times)} s; median {med:.2f} s, peak {adds['peak_gb']:.2f} GB "
                        f"(target <= {TARGET_ADD_S:.0f} s) -> {'PASS' if med <= TARGET_ADD_S else 'FAIL'}")]
        else:
            out += ["", f"incremental: build([{GUIDE.name}], add=True): {adds['stopped']} -> FAIL"]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
