"""Big generated guides through `kg build` with the bundled Anthology (issue 13, item 9).

    python bench/bigguide.py                      # 1,000 / 2,500 / 5,000 / 10,000 papers
    python bench/bigguide.py --sizes 1000,5000 --write /tmp/guide-5000.txt

A guide of N papers in the seed guide's layout (a heading every 40 papers, a title,
an author line of 2-8 names drawn Zipf-like from 1.2 N people, the seed's postings at
the end), seeded, is built with the bundled Anthology collections (what `kg build`
reads by default), each size in its own child process. Prints the wall time, the
stages from BuildResult.timings (the review file is written in "commit"), the peak
RSS of the build process (VmHWM), the ratio of each size to the smallest, and whether
the largest meets the target. Target: 10,000 papers in at most 10x the time of 1,000 and under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "amazon-acl-2024-guide.txt"
WORDS = ["adaptive", "aligned", "attention", "benchmark", "calibrated", "causal", "code", "conversational", "cross", "data", "decoding", "dense", "dialogue", "efficient", "entity", "evaluation", "explainable", "factual", "few", "generative", "graph", "grounded", "hallucination", "instruction", "knowledge", "language", "large", "latent", "learning", "lingual", "long", "memory", "multimodal", "neural", "open", "ordinal", "parallel", "preference", "pretraining", "prompt", "question", "reasoning", "retrieval", "robust", "scalable", "semantic", "sparse", "speech", "structured", "summarization", "synthetic", "temporal", "token", "transfer", "translation", "uncertainty", "unsupervised", "visual"]
FIRST = ["Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gita", "Hiro", "Ines", "Jun", "Kofi", "Lena", "Mei", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Xin", "Yara", "Zoe"]
LAST = ["Abe", "Banerjee", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quint", "Rossi", "Sato", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhou"]


def generate(papers: int, seed: int = 7) -> str:
    """A guide of `papers` papers in the seed guide's layout."""
    rng = random.Random(seed)
    text = SEED.read_text(encoding="utf-8").splitlines()
    head, tail = text[:5], text[text.index("Research areas"):]
    names = [f"{f} {chr(65 + m)}. {last}" for f in FIRST for m in range(26) for last in LAST]
    people = rng.sample(names, min(len(names), int(papers * 1.2) + 10))
    weights = [1 / (i + 1) for i in range(len(people))]
    lines = list(head)
    for i in range(papers):
        if i % 40 == 0:
            lines += ["", f"Generated topic {i // 40 + 1}"]
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 11))).capitalize() + f" number {i}"
        authors = list(dict.fromkeys(rng.choices(people, weights, k=rng.randint(2, 8))))
        lines += ["", title, ", ".join(authors)]
    return "\n".join(lines + [""] + tail) + "\n"


def child(guide: Path, store: Path) -> None:
    from kg.pipeline import build, bundled_sources

    anthology = [p for p in bundled_sources() if p.name != SEED.name]
    start = time.perf_counter()
    result = build([guide, *anthology], store=store)
    wall = time.perf_counter() - start
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / (1 << 20)
    print(json.dumps({"wall": wall, "peak_gb": peak, "written": result.written,
                      "timings": {k: round(v, 2) for k, v in result.timings.items()}}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,2500,5000,10000")
    parser.add_argument("--write", type=Path, help="also write the largest guide here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            guide = Path(tmp) / f"generated-{n}-guide.txt"
            guide.write_text(generate(n), encoding="utf-8")
            if args.write and n == max(sizes):
                args.write.write_text(guide.read_text(encoding="utf-8"), encoding="utf-8")
            out = subprocess.run([sys.executable, __file__, "--child", str(guide), str(Path(tmp) / f"s{n}")],
                                 capture_output=True, text=True, timeout=3600, check=False)
            if out.returncode != 0:
                print(f"{n}: failed: {out.stderr[-500:]}")
                return 1
            rows.append((n, json.loads(out.stdout.strip().splitlines()[-1])))
            r = rows[-1][1]
            print(f"{n:>6} papers: {r['wall']:7.1f} s ({r['wall'] / rows[0][1]['wall']:5.1f}x), "
                  f"{r['peak_gb']:.2f} GB, written={r['written']}, "
                  + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items()), flush=True)
    stages = list(dict.fromkeys(k for _, r in rows for k in r["timings"]))
    print("\nseconds by stage; peak RSS of the build process")
    print(" | ".join(["stage".ljust(11)] + [f"{n:>7}" for n, _ in rows]))
    for stage in stages:
        print(" | ".join([stage.ljust(11)] + [f"{r['timings'].get(stage, 0):7.2f}" for _, r in rows]))
    print(" | ".join(["total wall".ljust(11)] + [f"{r['wall']:7.2f}" for _, r in rows]))
    print(" | ".join(["peak GB".ljust(11)] + [f"{r['peak_gb']:7.2f}" for _, r in rows]))
    first, last = rows[0], rows[-1]
    ratio = last[1]["wall"] / first[1]["wall"]
    linear = last[0] / first[0]
    verdict = "PASS" if ratio <= linear and last[1]["peak_gb"] < 1 else "FAIL"
    print(f"target: {last[0]:,} papers in at most {linear:g}x the time of {first[0]:,} (linear) and under 1 GB: "
          f"{last[0]:,}/{first[0]:,} = {ratio:.1f}x ({'ok' if ratio <= linear else 'too slow'}), "
          f"{last[1]['peak_gb']:.2f} GB ({'ok' if last[1]['peak_gb'] < 1 else 'too much'}) -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
