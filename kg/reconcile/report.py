"""The reconciliation report as plain data (what `kg reconcile --format json` prints;
kg.render lays out the table and CSV).
"""

from __future__ import annotations

from kg.reconcile.records import Candidate, Reconciliation

REPORT_FORMATS = ("table", "json", "csv")


def report_data(rec: Reconciliation) -> dict:
    """The reconciliation as plain data (what `--format json` prints)."""
    def candidate(c: Candidate | None) -> dict | None:
        if c is None:
            return None
        return {"id": c.anthology_id, "title": c.title, "url": c.url, "doi": c.doi,
                "volume": c.volume_id, "year": c.year, "confidence": c.confidence,
                "evidence": list(c.evidence), "where": c.where}

    links = []
    for link in rec.links:
        links.append({
            "title": link.title, "guide": link.guide_file, "line": link.line, "paper": link.paper,
            "status": link.status, "confidence": link.confidence,
            "anthology": candidate(link.anthology), "evidence": list(link.evidence),
            "candidates": [candidate(c) for c in link.candidates],
            "people": [p.__dict__ | {"same_as": p.same_as} for p in link.people],
            "discrepancies": [d.__dict__ for d in link.discrepancies],
        })
    return {"threshold": rec.threshold, "links": links, "summary": rec.summary()}
