"""Reconciliation: link each guide paper and its people to the ACL Anthology record, and
record every disagreement between the two sources as data.

Owns candidate search and scoring, byline alignment, discrepancies, the curator's review
file and the quads of the reconciliation graph; guide and Anthology facts stay in theirs.
The public API is re-exported here; each submodule owns one thing, in this order (a
module imports only those above it; pyproject.toml's import-linter contract holds it):

- text: title spellings, years and venue words, the volume and year of an Anthology ID
- alignment: byline slots as names, how surely two are one person, aligning two bylines
  (how people are aligned, and why schema:sameAs, is told there)
- records: GuidePaper, Candidate, Link, PersonLink, Discrepancy, Alias, Reconciliation
- review: the curator's review file, read and written
- matching: candidate search, scoring and the pick (how a paper is matched is told there)
- sources: guide papers and Anthology works from parsed records (reconcile_sources)
- store: the same read from a store with SPARQL (reconcile_store)
- report: the reconciliation as plain data (report_data)
- graph: the reconciliation graph's quads (map_reconciliation)
"""

from kg.names import title_key
from kg.reconcile.alignment import (
    PERSON_SAME_AS,
    _anthology_name,
    _guide_name,
    _moved,
    align_bylines,
)
from kg.reconcile.graph import RECONCILIATION_GRAPH, map_reconciliation
from kg.reconcile.matching import DEFAULT_THRESHOLD
from kg.reconcile.records import (
    DISCREPANCY_KINDS,
    LINKED,
    STATUSES,
    Candidate,
    Discrepancy,
    GuidePaper,
    Link,
    PersonLink,
    Reconciliation,
)
from kg.reconcile.report import REPORT_FORMATS, report_data
from kg.reconcile.review import (
    REVIEW_FILE,
    Decision,
    ReviewFile,
    load_review,
    review_path,
    write_review,
)
from kg.reconcile.sources import guide_papers, reconcile_sources
from kg.reconcile.store import reconcile_store

__all__ = [
    "DEFAULT_THRESHOLD",
    "DISCREPANCY_KINDS",
    "LINKED",
    "PERSON_SAME_AS",
    "RECONCILIATION_GRAPH",
    "REPORT_FORMATS",
    "REVIEW_FILE",
    "STATUSES",
    "Candidate",
    "Decision",
    "Discrepancy",
    "GuidePaper",
    "Link",
    "PersonLink",
    "Reconciliation",
    "ReviewFile",
    "_anthology_name",
    "_guide_name",
    "_moved",
    "align_bylines",
    "guide_papers",
    "load_review",
    "map_reconciliation",
    "reconcile_sources",
    "reconcile_store",
    "report_data",
    "review_path",
    "title_key",
    "write_review",
]
