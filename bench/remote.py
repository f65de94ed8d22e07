"""A build onto a SPARQL server against the same build embedded (issue 14, item 2).

    python bench/remote.py                 # guide + 2024.tacl + 2024.naacl, 3 runs each
    python bench/remote.py --default       # the default build (guide + the four collections)

Starts `oxigraph serve` on 127.0.0.1 (from the `oxigraph` package), then alternates,
each in its own child process: `kg build --store DIR` and `kg build --store URL`
of the same sources. A remote build runs the same pipeline into a scratch store
and then uploads; its "upload" figure is the time from the end of the pipeline
(BuildResult.timings) to the end of the build. Prints medians and the ratio
remote / (embedded + upload). Target: at most 2x.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "data" / "amazon-acl-2024-guide.txt"
SMALL = [GUIDE, ROOT / "data" / "anthology" / "2024.tacl.xml.gz", ROOT / "data" / "anthology" / "2024.naacl.xml.gz"]


def child(store: str, sources: list[str]) -> None:
    from kg.pipeline import build

    start = time.perf_counter()
    result = build(sources, store=store)
    wall = time.perf_counter() - start
    # the commit stage is the swap: a rename embedded, the upload and one update on a server
    commit = result.timings.get("commit", 0.0)
    print(json.dumps({"wall": wall, "written": result.written, "commit": round(commit, 3),
                      "pipeline": round(sum(result.timings.values()) - commit, 3)}))


def _run(store: str, sources: list[Path]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", store, *map(str, sources)],
                         capture_output=True, text=True, check=True, timeout=3600, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--default", action="store_true", help="the default build's sources")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:])
        return 0
    from kg.pipeline import bundled_sources

    sources = bundled_sources() if args.default else SMALL
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    with tempfile.TemporaryDirectory(prefix="kg-bench-remote-") as tmp:
        port = _free_port()
        with open(Path(tmp) / "oxigraph.log", "wb") as log:  # the child keeps its own handle
            server = subprocess.Popen([binary, "serve", "--location", f"{tmp}/ox", "--bind",
                                       f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):  # bounded: 10 s for the server to answer
                try:
                    urllib.request.urlopen(f"{url}/query?query=ASK%7B%7D", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            embedded, remote, upload = [], [], []
            for i in range(args.runs):
                e = _run(f"{tmp}/local{i}", sources)
                r = _run(url, sources)
                embedded.append(e["wall"])
                remote.append(r["wall"])
                upload.append(r["wall"] - r["pipeline"])
                print(f"run {i + 1}: embedded {e['wall']:.2f} s, remote {r['wall']:.2f} s "
                      f"(pipeline {r['pipeline']:.2f} s, upload and swap {r['wall'] - r['pipeline']:.2f} s)",
                      flush=True)
        finally:
            server.terminate()
            server.wait(30)
    e, r, u = (statistics.median(x) for x in (embedded, remote, upload))
    print(f"\nsources: {', '.join(p.name for p in sources)}")
    print(f"median embedded {e:.2f} s; remote {r:.2f} s of which upload {u:.2f} s")
    print(f"remote / embedded = {r / e:.2f}x; remote / (embedded + upload) = {r / (e + u):.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
