"""What people and programs read: result tables, SPARQL 1.1 Results JSON/CSV/TSV, and
the reconciliation report. The CLI and the server render through here, so a result
reads the same wherever it is asked for."""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox

from kg.errors import KGError
from kg.namespaces import XSD
from kg.queries import Result
from kg.reconcile import REPORT_FORMATS, Reconciliation, report_data


def json_term(term) -> dict:
    """A term as SPARQL 1.1 Results JSON writes it (RDF-star triples and text direction too)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": json_term(term.subject),
                                            "predicate": json_term(term.predicate),
                                            "object": json_term(term.object)}}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
        if getattr(term, "direction", None) is not None:
            out["its:dir"] = str(term.direction)
    elif term.datatype.value != XSD + "string":
        out["datatype"] = term.datatype.value
    return out


def plain(term) -> str:
    """A term as a person reads it: IRIs and literal values without syntax."""
    if term is None:
        return ""
    return term.value


def format_result(result: Result, fmt: str) -> str:
    """Render as table | json (SPARQL 1.1 Results JSON) | csv | tsv (W3C formats)."""
    if result.boolean is not None:
        if fmt == "json":
            return json.dumps({"head": {}, "boolean": result.boolean})
        return "true" if result.boolean else "false"
    if result.triples is not None:
        return ox.serialize(result.triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8").rstrip("\n")
    if fmt == "json":
        bindings = [{v: json_term(t) for v, t in zip(result.variables, row) if t is not None}
                    for row in result.rows]
        return json.dumps({"head": {"vars": result.variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(result.variables)
        writer.writerows([[plain(t) for t in row] for row in result.rows])
        return buf.getvalue().rstrip("\r\n")
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in result.variables)]
        lines += ["\t".join("" if t is None else str(t) for t in row) for row in result.rows]
        return "\n".join(lines)
    return table(result.variables, [[plain(t) for t in row] for row in result.rows])


def table(headers: list[str], rows: list[list[str]], width: int = 70) -> str:
    """A plain text table; long cells are cut with an ellipsis."""
    cut = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cut]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in cut]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def summary_lines(rec: Reconciliation) -> list[str]:
    s = rec.summary()
    kinds = s["discrepancies"]
    return [
        (f"{s['guide_papers']} guide papers: {s['linked']} linked ({s['auto']} auto, "
         f"{s['accepted']} accepted), {s['review']} for review, {s['rejected']} rejected, "
         f"{s['unmatched']} unmatched; {s['people_same_as']} guide people linked to Anthology "
         "people (schema:sameAs)"),
        f"{sum(kinds.values())} discrepancies: " + ", ".join(f"{n} {k}" for k, n in kinds.items()),
    ]


def format_report(rec: Reconciliation, fmt: str) -> str:
    """table (with a summary) | json | csv (one row per guide paper)."""
    if fmt == "json":
        return json.dumps(report_data(rec), ensure_ascii=False, indent=1)
    header = ["title", "guide", "line", "status", "confidence", "anthology", "discrepancies",
              "evidence"]
    rows = [[link.title, link.guide_file, str(link.line or ""), link.status,
             f"{link.confidence:.2f}" if link.confidence is not None else "",
             link.anthology.anthology_id if link.anthology else "", str(len(link.discrepancies)),
             "; ".join(link.evidence)] for link in rec.links]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue().rstrip("\r\n")
    if fmt != "table":
        raise KGError(f"unknown report format {fmt!r}; expected one of {', '.join(REPORT_FORMATS)}")
    shown = [[r[3], r[4], r[5], r[6], r[0], r[7]] for r in rows]
    return "\n".join([table(["status", "conf", "anthology", "disagree", "guide paper", "evidence"],
                            shown, width=400), *summary_lines(rec)])
