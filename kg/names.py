"""Names and titles folded to ASCII: the one place where text becomes a key, a slug or a person id.

Transliteration is python-slugify's, the library the ACL Anthology's own tooling makes
person ids with, so every script folds the same way on the guide side and the Anthology
side ("Þórður" -> "thordur", "王小明" -> "wang xiao ming", "Ольга" -> "olga").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from kg.namespaces import digest

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d)")  # "1,000" is one number to python-slugify


@lru_cache(maxsize=1 << 16)
def _transliterated(text: str) -> str:
    """Lower-case ASCII words of a text, space-separated, as python-slugify makes them.
    Its transliteration backend is named, not left to whichever library is installed."""
    from slugify import slugify  # imported on first use: most names are plain ASCII

    return slugify(text, separator=" ", lowercase=True, backend="text-unidecode")


def words(text: str) -> list[str]:
    """The folded words of a text: ASCII letters and digits, lower case, every script
    transliterated; case, accents and punctuation do not matter."""
    if text.isascii() and "&" not in text:
        # what python-slugify gives plain ASCII (no HTML entity to decode), ~10x faster;
        # tests/test_names.py holds the two to the same words on every Anthology name
        return _ASCII_WORD.findall(_DIGIT_COMMA.sub("", text.lower()))
    return _ASCII_WORD.findall(_transliterated(text))


def fold(text: str) -> str:
    """A case-, accent- and script-insensitive form of a name or title, for matching."""
    return " ".join(words(text))


def name_key(name: str) -> str:
    """Spelling-insensitive key of a person's name: case, accents, dots and hyphens do
    not matter ("Jack G. M. FitzGerald" -> "jack g m fitzgerald")."""
    return fold(name)


def title_key(title: str) -> str:
    """The matching key of a title: folded letters and digits only, so case, accents,
    punctuation, spacing and hyphenation ("multimodal" / "Multi-modal") do not matter."""
    return "".join(words(title.rstrip("*")))


def slug(text: str, limit: int = 60) -> str:
    """ASCII kebab-case slug, cut at a word boundary to at most `limit` characters."""
    found = words(text)
    out = ""
    for word in found:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or (found[0][:limit] if found else "x")


def _beyond_latin(text: str) -> bool:
    """Whether a text has letters of a script other than Latin (CJK, Cyrillic, Greek, ...)."""
    return not text.isascii() and any(
        c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in text)


def person_slug(name: str, limit: int | None = 80) -> str:
    """The id a printed name gives a person with no other id: its slug, as the Anthology
    makes it. Transliteration merges different names written in other scripts (王小明 and
    汪小明 are both "wang-xiao-ming"), so such a name also carries a short hash of its
    exact spelling: different names never share an IRI."""
    base = slug(name, limit) if limit else "-".join(words(name)) or "x"
    if _beyond_latin(name):
        exact = unicodedata.normalize("NFC", " ".join(name.split())).casefold()
        return f"{base}-{digest(exact)}"
    return base
