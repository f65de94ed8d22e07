"""Synthetic scholarly graphs, and `authors-sharing-topics` timed on them.

    python bench/synthetic.py                      # 10k, 200k and 2M triples
    python bench/synthetic.py --sizes 10k,200k --runs 5 --sparql-timeout 60
    python bench/synthetic.py --write graph.nq --sizes 200k   # only write the N-Quads

The graphs use the vocabulary the guide mapping produces (kg/mapping.py): papers
(schema:ScholarlyArticle with schema:name, schema:author, dcterms:subject and
schema:about), one pro:RoleInTime slot per author (pro:withRole pro:author,
pro:isHeldBy, pro:relatesToDocument, schema:position, kg:printedName), people
(schema:Person, schema:name) and ~200 topics (skos:Concept, skos:prefLabel,
schema:name), all in one named graph. Author productivity follows a Zipf law;
papers have 1-6 authors, 3 on average; topics are Zipf-distributed too, with each
author leaning to a few topics. The generator is seeded: the same size and seed
give the same bytes.

Every size is bulk-loaded into an on-disk Oxigraph store; each measurement runs in
its own child process, so its peak RSS (VmHWM) is its own. The kg path is
`kg.queries.run_saved(store, "authors-sharing-topics", {"limit": "100"})` (which
goes to kg.engines.authors_sharing_topics); the baseline runs the .rq file's SPARQL
with Oxigraph and cuts the first 100 rows, on the sizes up to --sparql-max, killed
after --sparql-timeout seconds or past --sparql-max-rss GB.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCHEMA = "http://schema.org/"
DCTERMS = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PRO = "http://purl.org/spar/pro/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
KG = "https://w3id.org/kg/ontology#"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
BASE = "https://w3id.org/kg/id/"

TOPICS = 200
TRIPLES_PER_PAPER = 4 + 7 * 3  # type, name, subject, about + 7 per author (3 on average)
SIZES = {"10k": 10_000, "200k": 200_000, "2M": 2_000_000}
TARGET_SECONDS, TARGET_GB = 10.0, 2.0  # on 2M triples, top 100 pairs

_FIRST = ["Ana", "Bao", "Carla", "Dmitri", "Émile", "Fatima", "Gao", "Hiro", "Inés", "Jonas",
          "Kofi", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
          "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë"]
_SYLLABLES = ["ka", "ren", "mo", "li", "sa", "tor", "vi", "dan", "el", "gu", "ha", "no", "pe",
              "ri", "shu", "ta", "ber", "ço", "mü", "la"]


def _iri(value: str) -> str:
    return f"<{value}>"


def _lit(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _zipf_sampler(rng: random.Random, n: int, s: float):
    """A function drawing 0..n-1 with P(k) proportional to 1 / (k + 1) ** s."""
    cumulative = list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))
    total = cumulative[-1]
    return lambda: min(bisect.bisect_left(cumulative, rng.random() * total), n - 1)


def generate(triples: int, seed: int = 42):
    """N-Quads lines (str, with newline) of a graph of about `triples` triples, in the
    default graph: what kg's queries read (a build's merge of its sources)."""
    rng = random.Random(seed)
    papers = max(10, round(triples / (TRIPLES_PER_PAPER + 1.2)))
    pool = max(20, papers // 2)  # people who may write; the Zipf law leaves many with one paper
    draw_author = _zipf_sampler(rng, pool, 1.0)
    draw_topic = _zipf_sampler(rng, TOPICS, 0.7)
    a, name_p, label_p = _iri(RDF_TYPE), _iri(SCHEMA + "name"), _iri(SKOS + "prefLabel")

    def quad(s: str, p: str, o: str) -> str:
        return f"{s} {p} {o} .\n"

    topic_iris = [_iri(f"{BASE}topic/t{k:03d}") for k in range(TOPICS)]
    for k, t in enumerate(topic_iris):
        label = _lit(f"Topic {k:03d} " + "".join(rng.choice(_SYLLABLES) for _ in range(3)))
        yield quad(t, a, _iri(SKOS + "Concept"))
        yield quad(t, label_p, label)
        yield quad(t, name_p, label)
    # each person leans to a few topics
    leaning = [[draw_topic() for _ in range(3)] for _ in range(pool)]
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < pool:
        name = f"{rng.choice(_FIRST)} " + "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).title()
        if name not in seen:
            seen.add(name)
            names.append(name)
    person_iris = [_iri(f"{BASE}person/p{rng.getrandbits(40):010x}-{k}") for k in range(pool)]
    used: set[int] = set()
    author_p, subject_p, about_p = _iri(SCHEMA + "author"), _iri(DCTERMS + "subject"), _iri(SCHEMA + "about")
    slot_type, with_role, author_role = _iri(PRO + "RoleInTime"), _iri(PRO + "withRole"), _iri(PRO + "author")
    held_by, relates = _iri(PRO + "isHeldBy"), _iri(PRO + "relatesToDocument")
    position_p, printed_p = _iri(SCHEMA + "position"), _iri(KG + "printedName")
    for i in range(papers):
        paper = f"{BASE}paper/paper-{i:07d}"
        count = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6))
        authors: list[int] = []
        while len(authors) < count:
            who = draw_author()
            if who not in authors:
                authors.append(who)
        lead = authors[0]
        topic = rng.choice(leaning[lead]) if rng.random() < 0.6 else draw_topic()
        p = _iri(paper)
        yield quad(p, a, _iri(SCHEMA + "ScholarlyArticle"))
        yield quad(p, name_p, _lit(f"Paper {i} on " + "".join(rng.choice(_SYLLABLES) for _ in range(4))))
        yield quad(p, subject_p, topic_iris[topic])
        yield quad(p, about_p, topic_iris[topic])
        for position, who in enumerate(authors, start=1):
            used.add(who)
            person, slot = person_iris[who], _iri(f"{paper}/author/{position}")
            yield quad(p, author_p, person)
            yield quad(slot, a, slot_type)
            yield quad(slot, with_role, author_role)
            yield quad(slot, held_by, person)
            yield quad(slot, relates, p)
            yield quad(slot, position_p, f'"{position}"^^<{XSD_INTEGER}>')
            yield quad(slot, printed_p, _lit(names[who]))
    for who in sorted(used):
        yield quad(person_iris[who], a, _iri(SCHEMA + "Person"))
        yield quad(person_iris[who], name_p, _lit(names[who]))


def write(path: Path, triples: int, seed: int = 42) -> int:
    """Write the N-Quads; the number of quads written."""
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in generate(triples, seed):
            out.write(line)
            n += 1
    return n


def load(nquads: Path, store_dir: Path) -> None:
    import pyoxigraph as ox
    store = ox.Store(str(store_dir))
    store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
    store.flush()
    store.optimize()
    del store


# --- measurements, each in a child process -------------------------------------------

def _child(mode: str, store_dir: str, runs: int, limit: int) -> None:
    import pyoxigraph as ox

    from kg import queries
    store = ox.Store.read_only(store_dir)
    times, rows = [], None
    for _ in range(runs):
        start = time.perf_counter()
        if mode == "kg":
            result = queries.run_saved(store, "authors-sharing-topics", {"limit": str(limit)})
            rows = result.rows
        else:
            result = queries.run_sparql(store, queries.get_query("authors-sharing-topics").text)
            rows = [row[:4] for row in result.rows[:limit]]
        times.append(time.perf_counter() - start)
    answer = [[r[0].value, r[1].value, int(r[2].value), sorted(r[3].value.split("; "))] for r in rows]
    print(json.dumps({"times": times, "answer": answer, "hwm_kb": _hwm_kb(os.getpid())}))


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(mode: str, store_dir: Path, runs: int, limit: int, timeout: float, max_rss_gb: float) -> dict:
    """Run one child; its times, answer and peak RSS, or why it was stopped."""
    # output to files, not pipes: a pipe nobody reads while polling would block the child
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        return _watch(mode, store_dir, runs, limit, timeout, max_rss_gb, out_file, err_file)


def _watch(mode, store_dir, runs, limit, timeout, max_rss_gb, out_file, err_file) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, str(store_dir),
                             "--runs", str(runs), "--limit", str(limit)],
                            stdout=out_file, stderr=err_file, text=True)
    start, peak, stopped = time.monotonic(), 0, None
    while proc.poll() is None:
        peak = max(peak, _hwm_kb(proc.pid))
        if time.monotonic() - start > timeout:
            stopped = f"killed after {timeout:.0f} s"
        elif peak > max_rss_gb * 2**20:
            stopped = f"killed past {max_rss_gb:.0f} GB"
        if stopped:
            proc.kill()
            proc.wait()
            return {"stopped": stopped, "peak_gb": peak / 2**20, "elapsed": time.monotonic() - start}
        time.sleep(0.05)
    out_file.seek(0)
    err_file.seek(0)
    out, err = out_file.read(), err_file.read()
    if proc.returncode != 0:
        return {"stopped": f"failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}",
                "peak_gb": peak / 2**20}
    data = json.loads(out)
    # VmHWM polled from here may miss the last moments; the child's own reading is exact
    data["peak_gb"] = max(peak, data.pop("hwm_kb")) / 2**20
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,200k,2M", help="comma-separated: 10k, 200k, 2M or a number")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of the kg path (median reported)")
    parser.add_argument("--sparql-runs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--sparql-max", default="200k", help="largest size the SPARQL baseline runs on")
    parser.add_argument("--sparql-timeout", type=float, default=60.0)
    parser.add_argument("--sparql-max-rss", type=float, default=6.0, help="GB; the baseline is killed past it")
    parser.add_argument("--workdir", type=Path, help="keep graphs and stores here (default: a temporary one)")
    parser.add_argument("--write", type=Path, help="only write the N-Quads of the (single) size here")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.runs, args.limit)
        return 0
    sizes = [(s, SIZES.get(s) or int(s)) for s in args.sizes.split(",")]
    if args.write:
        print(f"{write(args.write, sizes[0][1], args.seed)} quads -> {args.write}")
        return 0
    sparql_max = SIZES.get(args.sparql_max) or int(args.sparql_max)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="kg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    lines = []
    try:
        for label, triples in sizes:
            nq, store_dir = work / f"synthetic-{label}.nq", work / f"store-{label}"
            t0 = time.perf_counter()
            quads = write(nq, triples, args.seed)
            t1 = time.perf_counter()
            if store_dir.exists():
                shutil.rmtree(store_dir)
            load(nq, store_dir)
            t2 = time.perf_counter()
            print(f"[{label}] {quads} quads: generated in {t1 - t0:.1f} s, loaded in {t2 - t1:.1f} s",
                  file=sys.stderr, flush=True)
            fast = measure("kg", store_dir, args.runs, args.limit, 600, 32)
            base = None
            if triples <= sparql_max:
                # one run first, bounded by the timeout; more only if that one was quick
                base = measure("sparql", store_dir, 1, args.limit, args.sparql_timeout, args.sparql_max_rss)
                if "times" in base and args.sparql_runs > 1 and base["times"][0] * args.sparql_runs < args.sparql_timeout:
                    more = measure("sparql", store_dir, args.sparql_runs, args.limit,
                                   args.sparql_timeout * args.sparql_runs, args.sparql_max_rss)
                    base = more if "times" in more else base
            lines.append(_row(label, quads, fast, base, triples))
            print(lines[-1], file=sys.stderr, flush=True)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(_table(lines, args))
    return 0


def _row(label, quads, fast, base, triples) -> dict:
    row = {"size": label, "quads": quads}
    if "times" in fast:
        row["kg_s"] = statistics.median(fast["times"])
        row["kg_runs"] = len(fast["times"])
    else:
        row["kg_s"] = None
        row["kg_note"] = fast["stopped"]
    row["kg_gb"] = fast["peak_gb"]
    if base is None:
        row["sparql"] = "not run"
    elif "times" in base:
        row["sparql_s"] = statistics.median(base["times"])
        row["sparql_runs"] = len(base["times"])
        row["sparql_gb"] = base["peak_gb"]
        row["same"] = "yes" if base["answer"] == fast.get("answer") else "NO"
    else:
        row["sparql"] = base["stopped"]
        row["sparql_gb"] = base["peak_gb"]
    if triples >= 2_000_000:
        ok = row["kg_s"] is not None and row["kg_s"] <= TARGET_SECONDS and row["kg_gb"] <= TARGET_GB
        row["target"] = "PASS" if ok else "FAIL"
    return row


def _table(rows: list[dict], args) -> str:
    head = ["size", "quads", "kg median s", "kg peak GB", "SPARQL median s", "SPARQL peak GB",
            "speed-up", "same top rows", f"target (<= {TARGET_SECONDS:.0f} s, <= {TARGET_GB:.0f} GB)"]
    body = []
    for r in rows:
        kg_s = f"{r['kg_s']:.3f}" if r["kg_s"] is not None else r.get("kg_note", "?")
        if "sparql_s" in r:
            sp_s = f"{r['sparql_s']:.2f} ({r['sparql_runs']} run{'s' if r['sparql_runs'] > 1 else ''})"
            ratio = f"{r['sparql_s'] / r['kg_s']:.0f}x"
        else:
            sp_s, ratio = r["sparql"], ("> " + f"{args.sparql_timeout / r['kg_s']:.0f}x"
                                        if "killed after" in r["sparql"] and r["kg_s"] else "-")
        sp_gb = f"{r['sparql_gb']:.2f}" if "sparql_gb" in r else "-"
        body.append([r["size"], str(r["quads"]), kg_s, f"{r['kg_gb']:.2f}", sp_s, sp_gb, ratio,
                     r.get("same", "-"), r.get("target", "-")])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths))
    title = (f"authors-sharing-topics, top {args.limit} pairs; kg: median of {args.runs} runs, "
             f"SPARQL: median of up to {args.sparql_runs} (timeout {args.sparql_timeout:.0f} s); "
             f"peak RSS of the measuring process")
    out = [title, fmt(head), fmt(["-" * w for w in widths])]
    return "\n".join(out + [fmt(b) for b in body])


if __name__ == "__main__":
    sys.exit(main())
