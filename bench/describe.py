"""An entity's description (`kg show`, the person/paper/topic pages, /entity) on the
bundled store: Store.describe + kg.facts against the one SPARQL query it replaced,
the same entities in the same run.

    python bench/describe.py                 # builds the bundled store in a temporary folder
    python bench/describe.py --store .kg     # or reads one already built

The entities: the 3 people with the most papers, 5 topics, 5 papers both sources
have (aliases), 10 people picked at random (seeded). The old query walks sameAs paths
from every fact of the entity; Store.describe reads its quads by index. Prints medians
per kind and overall, and checks both give the same description.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _entities(store) -> dict[str, list[str]]:
    def values(text: str) -> list[str]:
        return [r[0].value for r in store.query(text)]

    people = values("SELECT ?p WHERE { ?p a <http://schema.org/Person> } ORDER BY ?p")
    return {
        "prolific person": values("SELECT ?p (COUNT(*) AS ?n) WHERE { ?x <http://schema.org/author> ?p } "
                                  "GROUP BY ?p ORDER BY DESC(?n) ?p LIMIT 3"),
        "topic": values("SELECT ?t WHERE { ?t a <http://www.w3.org/2004/02/skos/core#Concept> } ORDER BY ?t LIMIT 5"),
        "merged paper": values("SELECT DISTINCT ?e WHERE { ?e a <http://schema.org/ScholarlyArticle> ; "
                               "<http://schema.org/sameAs> ?x FILTER(STRSTARTS(STR(?x), \"https://w3id.org/kg/id/paper/\")) } "
                               "ORDER BY ?e LIMIT 5"),
        "person": random.Random(14).sample(people, 10),
    }


def _time(call, iri: str) -> tuple[float, object]:
    start = time.perf_counter()
    out = call(iri)
    return time.perf_counter() - start, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", help="a store built with `kg build` (default: build the bundled one)")
    args = parser.parse_args()
    from kg import facts
    from kg import store as stores
    from kg.pipeline import build, bundled_sources

    # the replaced query, kept as the tests' reference
    from tests.test_store import sparql_description

    with tempfile.TemporaryDirectory(prefix="kg-bench-describe-") as folder:
        path = args.store or str(Path(folder) / "store")
        if not args.store:
            assert build(bundled_sources(), store=Path(path)).written
        store = stores.open_store(path)
        old_all, new_all, same = [], [], True
        for kind, iris in _entities(store).items():
            old_t, new_t = [], []
            for iri in iris:
                t_old, old = _time(lambda i: sparql_description(store, i), iri)
                runs = [_time(lambda i: facts.describe_iri(store, i), iri) for _ in range(3)]
                t_new, new = statistics.median(t for t, _ in runs), runs[0][1]
                for fact in old.facts if old else ():
                    fact.sources.sort()
                same &= old == new
                old_t.append(t_old)
                new_t.append(t_new)
            old_all += old_t
            new_all += new_t
            print(f"{kind:16} {len(iris):2} entities: query median {statistics.median(old_t) * 1000:8.1f} ms, "
                  f"Store.describe median {statistics.median(new_t) * 1000:6.1f} ms")
        o, n = statistics.median(old_all), statistics.median(new_all)
        print(f"all {len(old_all)}: query {o * 1000:.1f} ms, Store.describe {n * 1000:.1f} ms: "
              f"{o / n:.0f}x faster; same descriptions: {same}")
        store.close()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
