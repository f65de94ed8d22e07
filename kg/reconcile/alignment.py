"""Byline alignment: a byline slot as a `_Name`, how surely two names are one person, and
the pairing of two bylines with the authors whose order differs.

People are aligned per linked paper, order-independently: same name; same name up to
accents/case/punctuation; same person in name_variants.yaml; middle names or initials
on one side only; a short form of the given name (Rob / Robert, Yi / Yile); then, for
the names left over, the same family name or a shared name part. An aligned guide
person whose IRI differs from the Anthology person's gets `schema:sameAs` to it (when
the alignment is at least PERSON_SAME_AS and the paper link is auto or accepted).
schema:sameAs, not owl:sameAs: the links come from fuzzy evidence, and owl:sameAs would
make any reasoner merge every fact of two people on a guess; the evidence sits on a
kg:AuthorAlignment node. Name_variants.yaml's `similar` lists are not used: they name
people who are *different* despite similar names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kg.mapping import person_iri
from kg.names import words
from kg.sources.anthology import NameResolver, slugify_name

PERSON_SAME_AS = 0.75  # an author alignment this strong says "same person"
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


@dataclass(frozen=True, slots=True)
class _Name:
    """One byline slot, ready for matching."""

    printed: str
    tokens: tuple[str, ...]  # folded words, generational suffixes dropped
    given: tuple[str, ...]  # Anthology: <first>; guide: all but the last word (a guess)
    family: tuple[str, ...]  # Anthology: <last>; guide: the last word (a guess)
    person: str  # person IRI
    position: int
    ids: frozenset[str] = frozenset()  # Anthology person ids the name can stand for
    listed: frozenset[str] = frozenset()  # of those, the ones name_variants.yaml lists it for


def _split_tokens(words: list[str]) -> tuple[str, ...]:
    return tuple(w for w in words if w not in _SUFFIXES)


def _guide_name(printed: str, person: str, position: int, resolver: NameResolver | None) -> _Name:
    tokens = _split_tokens(words(printed))
    listed: set[str] = set()
    if resolver is not None:
        parts = printed.split()
        for i in range(1, len(parts)):
            listed.update(resolver.ids_for(" ".join(parts[:i]), " ".join(parts[i:])))
    return _Name(printed, tokens, tokens[:-1], tokens[-1:], person, position,
                 frozenset({slugify_name(None, printed), *listed}), frozenset(listed))


def _anthology_name(first: str | None, last: str, person_id_: str, position: int) -> _Name:
    given = _split_tokens(words(first or ""))
    family = _split_tokens(words(last))
    printed = " ".join(f"{first} {last}".split()) if first else " ".join(last.split())
    return _Name(printed, given + family, given, family, person_iri(person_id_).value, position,
                 frozenset({person_id_}))


def _initials(tokens: Sequence[str]) -> str:
    return " ".join(t.upper() + "." if len(t) == 1 else t.capitalize() for t in tokens)


def _compatible(a: Sequence[str], b: Sequence[str]) -> bool:
    """Middle names agree: one side has none, or each is the same name or its initial."""
    if not a or not b:
        return True
    if len(a) != len(b):
        return False
    return all(x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))
               for x, y in zip(a, b))


def _middle_note(g: Sequence[str], a: Sequence[str]) -> str:
    if g and not a:
        return f"the guide adds {_initials(g)}"
    if a and not g:
        return f"the Anthology adds {_initials(a)}"
    return f"{_initials(g)} in the guide, {_initials(a)} in the Anthology"


def _pair_score(g: _Name, a: _Name) -> tuple[float, str] | None:
    """How surely guide name `g` and Anthology name `a` are one person, and why."""
    if g.printed == a.printed:
        return 1.0, "same name"
    if g.tokens == a.tokens:
        return 0.98, "same name up to accents, case and punctuation"
    if g.ids & a.ids:
        return 0.95, "the same person in the Anthology's name_variants.yaml"
    n = len(a.family)
    if not n or not a.given or len(g.tokens) <= n or g.tokens[-n:] != a.family:
        return None
    gg, ag = g.tokens[:-n], a.given
    if gg[0] == ag[0]:
        if _compatible(gg[1:], ag[1:]):
            return 0.9, f"middle names or initials differ ({_middle_note(gg[1:], ag[1:])})"
        return None
    if not _compatible(gg[1:], ag[1:]):
        return None
    if (len(gg[0]) == 1 and ag[0].startswith(gg[0])) or (len(ag[0]) == 1 and gg[0].startswith(ag[0])):
        return 0.85, f"given name as an initial ({gg[0].capitalize()} / {ag[0].capitalize()})"
    if min(len(gg[0]), len(ag[0])) >= 2 and (gg[0].startswith(ag[0]) or ag[0].startswith(gg[0])):
        return 0.8, f"short form of the given name ({gg[0].capitalize()} / {ag[0].capitalize()})"
    return None


@dataclass(frozen=True)
class _Alignment:
    pairs: tuple[tuple[_Name, _Name, float, str], ...]  # guide, Anthology, confidence, evidence
    guide_only: tuple[_Name, ...]
    anthology_only: tuple[_Name, ...]

    @property
    def matched(self) -> float:
        """Aligned slots, a weak alignment counting half."""
        return sum(1.0 if c >= PERSON_SAME_AS else 0.5 for _, _, c, _ in self.pairs)


def align_bylines(guide: Sequence[_Name], anthology: Sequence[_Name]) -> _Alignment:
    """Pair the names of two bylines, whatever their order (see the module docstring).

    Strong pairs are taken greedily, best first, then nearest in position; the names
    left over are paired by family name, then by a shared name part of 4+ letters,
    only where that pairing is unique on both sides.
    """
    scored = []
    for g in guide:
        for a in anthology:
            hit = _pair_score(g, a)
            if hit:
                scored.append((-hit[0], abs(g.position - a.position), g.position, a.position, g, a, hit))
    scored.sort(key=lambda s: s[:4])
    pairs: list[tuple[_Name, _Name, float, str]] = []
    used_g: set[int] = set()
    used_a: set[int] = set()
    for *_, g, a, (conf, why) in scored:
        if g.position not in used_g and a.position not in used_a:
            pairs.append((g, a, conf, why))
            used_g.add(g.position)
            used_a.add(a.position)

    def leftovers() -> tuple[list[_Name], list[_Name]]:
        return ([g for g in guide if g.position not in used_g],
                [a for a in anthology if a.position not in used_a])

    def same_family(g: _Name, a: _Name) -> tuple[str, bool] | None:
        n = len(a.family)
        given = g.tokens[:-n] if n else ()
        if not (given and a.given and g.tokens[-n:] == a.family):
            return None
        why = (f"same family name, another given name ({' '.join(given).title()} / "
               f"{' '.join(a.given).title()})")
        return why, given[0][0] == a.given[0][0]  # the same initial makes it likelier

    def shared_part(g: _Name, a: _Name) -> tuple[str, bool] | None:
        common = sorted({t for t in g.tokens if len(t) >= 4} & set(a.tokens))
        if not common:
            return None
        return f"shares the name part {common[0].capitalize()} (given and family names swapped?)", False

    # (rule, confidence when it pairs the last two names left and the rule is sure, else)
    for related, alone_conf, conf in ((same_family, 0.75, 0.6), (shared_part, 0.6, 0.5)):
        rest_g, rest_a = leftovers()
        alone = len(rest_g) == 1 and len(rest_a) == 1
        found = []
        for g in rest_g:
            hits = [(a, hit) for a in rest_a if (hit := related(g, a))]
            if len(hits) == 1 and sum(1 for other in rest_g if related(other, hits[0][0])) == 1:
                found.append((g, *hits[0]))
        for g, a, (why, sure) in found:
            pairs.append((g, a, alone_conf if alone and (sure or related is shared_part) else conf, why))
            used_g.add(g.position)
            used_a.add(a.position)
    rest_g, rest_a = leftovers()
    pairs.sort(key=lambda p: p[0].position)
    return _Alignment(tuple(pairs), tuple(rest_g), tuple(rest_a))


def _moved(pairs: Sequence[tuple[_Name, _Name, float, str]]) -> list[tuple[_Name, _Name]]:
    """The fewest aligned authors whose moves explain the order difference.

    The longest run of aligned authors in the same relative order in both bylines stays
    put (a longest increasing subsequence; on a tie the one keeping the smaller Anthology
    positions); everyone else "moved". A swap of two neighbours is one move.
    """
    seq = [(g, a) for g, a, _, _ in sorted(pairs, key=lambda p: p[0].position)]
    tails: list[int] = []  # index into seq of the smallest tail of each length
    parent: list[int | None] = []
    for i, (_, a) in enumerate(seq):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if seq[tails[mid]][1].position < a.position:
                lo = mid + 1
            else:
                hi = mid
        parent.append(tails[lo - 1] if lo else None)
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    keep: set[int] = set()
    node = tails[-1] if tails else None
    while node is not None:
        keep.add(node)
        node = parent[node]
    return [pair for i, pair in enumerate(seq) if i not in keep]
