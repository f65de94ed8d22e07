"""Text folding for matching: title spellings, years, venue words, and the volume and
year an Anthology ID implies.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from kg.names import words

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"}
                        | {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                           "\u201c": '"', "\u201d": '"', "\u201e": '"'})
_YEAR = re.compile(r"\b(19|20)\d{2}\b")


@lru_cache(maxsize=1 << 16)
def _name_words(text: str) -> tuple[str, ...]:
    """`_words` of a name part, cached: the same family names recur across the Anthology."""
    return tuple(words(text))


def _spelling(text: str) -> str:
    """A title as spelled, up to letter case, dash and quote forms and spacing: two
    titles that differ here disagree, even if their keys are equal."""
    text = unicodedata.normalize("NFC", text.rstrip("*")).translate(_DASHES)
    return " ".join(text.casefold().split())


def _year_of(text: str | None) -> str | None:
    match = _YEAR.search(text or "")
    return match.group(0) if match else None


def _venue_words(event: str | None) -> frozenset[str]:
    return frozenset(w for w in words(event or "") if not w.isdigit())


def _volume_of(anthology_id: str) -> str:
    """The volume's Anthology ID of a paper ID (2024.acl-long.641 -> 2024.acl-long)."""
    if anthology_id[:1].isdigit():
        return anthology_id.rsplit(".", 1)[0]
    collection, number = anthology_id.split("-", 1)
    width = 2 if (collection[:1] == "W" or collection == "C69"
                  or (collection == "D19" and int(number[:2]) >= 5 and len(number) == 4)) else 1
    return f"{collection}-{number[:width]}"


def _year_of_id(anthology_id: str) -> str | None:
    if anthology_id[:4].isdigit():
        return anthology_id[:4]
    if len(anthology_id) >= 3 and anthology_id[1:3].isdigit():
        yy = int(anthology_id[1:3])
        return f"{1900 + yy if yy >= 50 else 2000 + yy}"
    return None
