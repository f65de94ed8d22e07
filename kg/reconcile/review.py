"""The curator's review file (reconcile-review.yaml): its decisions, read with the line of
each error, and written back with every link that needs review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kg.atomic import write_atomic
from kg.errors import SourceError
from kg.names import title_key
from kg.reconcile.records import Reconciliation

REVIEW_FILE = "reconcile-review.yaml"
_ANTHOLOGY_ID = re.compile(r"^(?:\d{4}\.[a-z0-9]+-[a-z0-9]+\.\d+|[A-Z]\d{2}-\d{4,5})$")


@dataclass(frozen=True)
class Decision:
    title: str
    decision: str  # accept | reject | review | an Anthology ID (accept that one)
    anthology: str | None  # the Anthology paper the entry is about
    line: int

    @property
    def chosen(self) -> str | None:
        """The Anthology ID to link to, for an accepting decision."""
        if self.decision == "accept":
            return self.anthology
        if _ANTHOLOGY_ID.match(self.decision):
            return self.decision
        return None


@dataclass(frozen=True)
class ReviewFile:
    path: str
    decisions: dict[str, Decision] = field(default_factory=dict)  # by title key

    def wanted(self) -> set[str]:
        """Anthology IDs the decisions name (they must be read even if not candidates)."""
        return {i for d in self.decisions.values() for i in (d.chosen, d.anthology) if i}


def review_path(store: str | Path) -> Path:
    """The default review file: reconcile-review.yaml beside the store directory."""
    return Path(store).resolve().parent / REVIEW_FILE

_REVIEW_HELP = """\
# Guide papers whose link to the ACL Anthology needs a person's decision.
# Set `decision` to one of:
#   accept        link the guide paper to `anthology`
#   reject        no link: the guide paper is not `anthology`
#   <an ID>       link it to that Anthology paper instead (e.g. one of `candidates`)
#   review        undecided (the default)
# The next `kg build` or `kg reconcile` honours every decision; decided entries stay here.
"""


def load_review(path: str | Path) -> ReviewFile:
    """Read a review file (none there: no decisions); SourceError naming the line if broken."""
    path = Path(path)
    shown = str(path)
    if not path.exists():
        return ReviewFile(shown)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(shown, None, f"cannot read the review file ({exc}); fix or delete it "
                          "(`kg reconcile` writes a new one)") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        context = getattr(exc, "context_mark", None)
        started = f", {exc.context} at line {context.line + 1}" if context and exc.context else ""
        raise SourceError(shown, mark.line + 1 if mark else None,
                          f"not valid YAML ({getattr(exc, 'problem', None) or exc}{started}); "
                          "expected a list of entries with title and decision") from None
    if root is None:
        return ReviewFile(shown)
    if not isinstance(root, yaml.SequenceNode):
        raise SourceError(shown, root.start_mark.line + 1,
                          "expected a list of entries (- title: ..., decision: ...)")
    decisions: dict[str, Decision] = {}
    for node in root.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            raise SourceError(shown, line, "expected an entry with title and decision")
        fields = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}

        def scalar(name: str, required: bool, fields=fields, line=line) -> str | None:
            value = fields.get(name)
            empty = isinstance(value, yaml.ScalarNode) and value.value.strip() in ("", "~", "null")
            if value is None or (empty and not required):
                if required:
                    raise SourceError(shown, line, f"this entry has no {name}; expected "
                                      f"`{name}: ...` (see the comment at the top of the file)")
                return None
            if not isinstance(value, yaml.ScalarNode) or empty:
                raise SourceError(shown, value.start_mark.line + 1, f"{name} must be a plain value")
            return str(value.value).strip()

        title = scalar("title", True)
        decision = scalar("decision", True)
        anthology = scalar("anthology", False)
        dline = fields["decision"].start_mark.line + 1
        if decision not in ("accept", "reject", "review") and not _ANTHOLOGY_ID.match(decision):
            raise SourceError(shown, dline, f"decision {decision!r} is not accept, reject, review "
                              "or an Anthology ID (such as 2024.acl-long.641)")
        if decision in ("accept", "reject") and not anthology:
            raise SourceError(shown, dline, f"decision {decision} needs the `anthology` ID it is "
                              "about; or write the Anthology ID itself as the decision")
        if anthology and not _ANTHOLOGY_ID.match(anthology):
            raise SourceError(shown, fields["anthology"].start_mark.line + 1,
                              f"anthology {anthology!r} is not an Anthology ID (such as "
                              "2024.acl-long.641)")
        key = title_key(title)
        if key in decisions:
            raise SourceError(shown, line, f"a second entry for {title!r} (first at line "
                              f"{decisions[key].line}); keep one")
        decisions[key] = Decision(title, decision, anthology, dline)
    return ReviewFile(shown, decisions)


def write_review(path: str | Path, rec: Reconciliation, previous: ReviewFile | None = None) -> int:
    """Write the review file: every link needing review, and every decided entry (kept so
    later runs keep honouring it). Atomic; returns the number of entries."""

    previous = previous or ReviewFile(str(path))
    entries = []
    seen: set[str] = set()
    for link in rec.links:
        key = title_key(link.title)
        decided = previous.decisions.get(key)
        if decided is not None and decided.decision != "review":
            decision, anthology = decided.decision, decided.anthology
        elif link.status in ("review", "unmatched"):
            decision = "review"
            anthology = link.anthology.anthology_id if link.anthology else None
        else:
            continue
        seen.add(key)
        entry = {
            "title": link.title,
            "guide": f"{link.guide_file}:{link.line}" if link.line else link.guide_file,
            "decision": decision,
            "anthology": anthology,
            "status": link.status,
            "confidence": link.confidence,
            "evidence": list(link.evidence),
            "candidates": [{"id": c.anthology_id, "title": c.title, "confidence": c.confidence,
                            "evidence": list(c.evidence)} for c in link.candidates],
        }
        entries.append(entry)
    for key, decided in sorted(previous.decisions.items(), key=lambda kv: kv[1].line):
        if key not in seen and decided.decision != "review":  # a paper not read this time
            entries.append({"title": decided.title, "decision": decided.decision,
                            "anthology": decided.anthology})
    # libyaml's emitter when PyYAML has it: the same text (but for characters beyond
    # the BMP, written as escapes) in a quarter of the time, 2.4 s for 5,000 entries
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = (yaml.dump(entries, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
            if entries else "[]\n")
    write_atomic(path, (_REVIEW_HELP + body).encode("utf-8"))
    return len(entries)
