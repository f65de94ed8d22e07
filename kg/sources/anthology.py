"""Reader for ACL Anthology collection XML (`.xml`, `.xml.gz`) and `yaml/name_variants.yaml`.

Owns the XML layout (volumes, front matter, papers, events), Anthology IDs and person ids.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

import yaml

from kg.errors import SourceError, unreadable
from kg.names import person_slug
from kg.records import (
    AnthologyEvent,
    AnthologyFrontmatter,
    AnthologyIdentity,
    AnthologyName,
    AnthologyPaper,
    AnthologyPerson,
    AnthologyVolume,
)

__all__ = [
    "AnthologyRecord",
    "NameResolver",
    "build_anthology_id",
    "collection_files",
    "load_name_variants",
    "read_anthology",
    "slugify_name",
]

AnthologyRecord = AnthologyVolume | AnthologyPaper | AnthologyEvent

_CHUNK = 1 << 20  # bytes of XML handed to expat at a time: memory stays flat per file
_GZIP_MAGIC = b"\x1f\x8b"
# Elements kept as a small tree until their end tag, then turned into a record and dropped.
_CAPTURED = frozenset({"meta", "frontmatter", "paper", "event"})
_EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)
_REFETCH = "take the file again from acl-org/acl-anthology (data/xml/)"


# --------------------------------------------------------------------------- IDs


def build_anthology_id(collection_id: str, volume_id: str, paper_id: str | None = None) -> str:
    """The Anthology ID of a volume (no `paper_id`) or of a paper, by the Anthology's rules.

    New-style collections (year first, e.g. `2024.acl`) give `2024.acl-long` and
    `2024.acl-long.641`. Old-style ones (`P19`, `W19`) pad numbers: workshop
    collections (`W..`), `C69` and `D19` volumes 5 and up use a two-digit volume and
    a two-digit paper number (`W19-01`, `W19-0101`); all others a one-digit volume and
    a three-digit paper number (`P19-1`, `P19-1001`). Paper 0 is the front matter.
    Raises ValueError when an old-style volume or paper id is not a number.
    """
    if collection_id[:1].isdigit():
        volume = f"{collection_id}-{volume_id}"
        return volume if paper_id is None else f"{volume}.{paper_id}"
    number = int(volume_id)
    if collection_id[:1] == "W" or collection_id == "C69" or (collection_id == "D19" and number >= 5):
        volume = f"{collection_id}-{number:02d}"
        return volume if paper_id is None else f"{volume}{int(paper_id):02d}"
    volume = f"{collection_id}-{number}"
    return volume if paper_id is None else f"{volume}{int(paper_id):03d}"


# --------------------------------------------------------------------------- XML


def collection_files(paths: Iterable[str | Path] | str | Path) -> list[Path]:
    """The collection files named by `paths`, sorted by file name, each once.

    A directory stands for its `*.xml` and `*.xml.gz` files (not recursive); a file
    is taken whatever its name, and may be gzip-compressed or not.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: dict[str, Path] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for child in path.iterdir():
                if child.name.endswith((".xml", ".xml.gz")) and child.is_file():
                    found.setdefault(str(child), child)
        elif path.exists():
            found.setdefault(str(path), path)
        else:
            raise SourceError(path, None, "no such file or directory; expected an Anthology "
                              "collection file (.xml or .xml.gz) or a directory of them")
    return sorted(found.values(), key=lambda p: (p.name, str(p)))


def read_anthology(paths: Iterable[str | Path] | str | Path) -> Iterator[AnthologyRecord]:
    """Yield the records of ACL Anthology collection files, streamed, in file-name order.

    `paths` are files (`.xml` or `.xml.gz`) and directories (see `collection_files`).
    For each file, in document order: each `AnthologyVolume` (with its front matter)
    just before its papers, each `AnthologyPaper`, and the `AnthologyEvent` if the
    file has one. Front matter is never yielded as a paper.

    Raises SourceError(path, line, message) for a missing or unreadable file, broken
    gzip data, malformed XML, a root element other than <collection>, or a volume or
    paper without its id/title. The error can come after many records have been
    yielded: consume the generator fully (e.g. into a list or a staging graph) before
    writing anything, so that a bad file leaves the store untouched.
    """
    for path in collection_files(paths):
        yield from _read_collection(path)


def _read_collection(path: Path) -> Iterator[AnthologyRecord]:
    shown = str(path)
    parser = _CollectionParser(shown)
    line = None  # no line to blame until the file is open
    try:
        with open(path, "rb") as raw:
            # gunzipped here rather than by GzipFile, which drops what it inflated of a
            # read that fails: the XML read up to the damage names the line it stops at
            inflate = _gunzip() if raw.read(2) == _GZIP_MAGIC else None
            raw.seek(0)
            while True:
                line = parser.line
                data = raw.read(_CHUNK // 4 if inflate else _CHUNK)
                chunk = data
                if inflate is not None:
                    try:
                        chunk, inflate = _inflate(inflate, data)
                    except zlib.error as exc:
                        # a checksum that fails at the end blames no line; other damage
                        # is found in the data that follows the line read so far
                        checksum = "check" in str(exc)
                        raise SourceError(shown, None if checksum else parser.line,
                                          f"broken gzip data{'' if checksum else ' after this line'} "
                                          f"({exc}); expected a complete gzip-compressed collection: "
                                          f"{_REFETCH}") from None
                    if not data and not inflate.eof:
                        raise SourceError(shown, parser.line, "truncated gzip data: the file ends "
                                          "after this line; expected a complete gzip-compressed "
                                          f"collection: {_REFETCH}")
                parser.feed(chunk, final=not data)
                yield from parser.take()
                if not data:
                    return
    except OSError as exc:
        raise unreadable(shown, exc, "expected an Anthology collection file", line) from None


def _gunzip():
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # a gzip member, trailer checked


def _inflate(inflate, data: bytes):
    """`data` inflated, and the decompressor for what follows (a file may hold several
    gzip members, one after another, as `cat a.gz b.gz` makes)."""
    out = inflate.decompress(data)
    while inflate.eof and inflate.unused_data:
        rest, inflate = inflate.unused_data, _gunzip()
        out += inflate.decompress(rest)
    return out, inflate


def _text(elem: Element) -> str:
    """All the text inside `elem`, inline markup dropped, whitespace collapsed."""
    # itertext() is a Python generator: only worth it when there is markup.
    text = "".join(elem.itertext()) if len(elem) else elem.text
    return " ".join(text.split()) if text else ""


def _opt(elem: Element) -> str | None:
    return _text(elem) or None


class _CollectionParser:
    """One file's expat parser: start tags give line numbers, small subtrees give records.

    Why not `ElementTree.iterparse`: it cannot tell the line of an element, and the C
    XMLParser behind it hides its expat object. Driving expat directly, with a C
    TreeBuilder only inside <meta>, <frontmatter>, <paper> and <event>, parses the whole
    Anthology as fast as iterparse with `clear()` does (1.9 s against 2.0 s here).
    """

    def __init__(self, path: str):
        self.path = path
        self._expat = parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        self._ready: list[AnthologyRecord] = []
        self._tree: TreeBuilder | None = None  # set while inside a captured element
        self._captured_tag = ""
        self._captured_line = 0
        self._root_seen = False
        self.collection_id = ""
        self._volume: _OpenVolume | None = None
        self._volume_ids: list[str] = []

    @property
    def line(self) -> int:
        return self._expat.CurrentLineNumber

    def feed(self, data: bytes, final: bool) -> None:
        try:
            self._expat.Parse(data, final)
        except expat.ExpatError as exc:
            raise SourceError(self.path, exc.lineno, f"malformed XML: {expat.ErrorString(exc.code)} "
                              f"(column {exc.offset + 1}); expected well-formed Anthology XML: fix "
                              f"the file or {_REFETCH}") from None

    def take(self) -> list[AnthologyRecord]:
        ready, self._ready = self._ready, []
        return ready

    def _error(self, line: int, message: str) -> SourceError:
        return SourceError(self.path, line, message)

    # expat callbacks -------------------------------------------------------

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        # Only called outside captured elements: inside them expat calls TreeBuilder.start.
        line = self._expat.CurrentLineNumber
        if not self._root_seen:
            self._root_seen = True
            if tag != "collection":
                raise self._error(line, f"root element is <{tag}>, expected <collection id=...>: "
                                  "this is not an ACL Anthology collection file")
            self.collection_id = attrs.get("id", "")
            if not self.collection_id:
                raise self._error(line, "<collection> has no id attribute; expected e.g. "
                                  '<collection id="2024.acl">')
            return
        if tag in _CAPTURED:
            if tag != "event":
                volume = self._volume
                if volume is None:
                    raise self._error(line, f"<{tag}> outside a <volume>; expected it inside "
                                      "<volume id=...>")
                if tag == "paper":
                    self._flush_volume(line)
            self._tree = tree = TreeBuilder()
            self._captured_tag = tag
            self._captured_line = line
            self._expat.StartElementHandler = tree.start
            self._expat.CharacterDataHandler = tree.data
            tree.start(tag, attrs)
        elif tag == "volume":
            self._open_volume(attrs, line)

    def _end(self, tag: str) -> None:
        tree = self._tree
        if tree is not None:
            elem = tree.end(tag)
            if tag != self._captured_tag:  # captured tags never nest in themselves
                return
            self._tree = None
            self._expat.StartElementHandler = self._start
            self._expat.CharacterDataHandler = None
            line = self._captured_line
            if tag == "paper":
                self._ready.append(self._paper(elem, line))
            elif tag == "meta":
                self._meta(elem, line)
            elif tag == "frontmatter":
                self._frontmatter(elem, line)
            else:
                self._ready.append(self._event(elem, line))
        elif tag == "volume":
            self._flush_volume(self.line)
            self._volume = None

    # records ---------------------------------------------------------------

    def _open_volume(self, attrs: dict[str, str], line: int) -> None:
        volume_id = attrs.get("id")
        if not volume_id:
            raise self._error(line, '<volume> has no id attribute; expected e.g. <volume id="long">')
        try:
            anthology_id = build_anthology_id(self.collection_id, volume_id)
        except ValueError:
            raise self._error(line, f"volume id {volume_id!r} in old-style collection "
                              f"{self.collection_id!r} is not a number; expected e.g. "
                              '<volume id="1">') from None
        self._volume = _OpenVolume(volume_id, anthology_id, attrs.get("type"),
                                   attrs.get("ingest-date"), line)
        self._volume_ids.append(anthology_id)

    def _meta(self, elem: Element, line: int) -> None:
        volume = self._volume
        assert volume is not None
        if volume.flushed or volume.meta is not None:
            raise self._error(line, f"a second or late <meta> in volume {volume.anthology_id}; "
                              "expected one <meta> before the front matter and papers")
        fields: dict[str, str] = {}
        editors: list[AnthologyPerson] = []
        venues: list[str] = []
        for child in elem:
            tag = child.tag
            if tag == "editor":
                editors.append(self._person(child, len(editors) + 1, line))
            elif tag == "venue":
                venues.append(_text(child))
            elif (value := _opt(child)) is not None:
                fields.setdefault(tag, value)
        if "booktitle" not in fields:
            raise self._error(line, f"volume {volume.anthology_id} has no <booktitle>; expected "
                              "<meta><booktitle>...</booktitle>")
        volume.meta = fields
        volume.editors = tuple(editors)
        volume.venues = tuple(venues)

    def _frontmatter(self, elem: Element, line: int) -> None:
        volume = self._volume
        assert volume is not None
        if volume.flushed:
            raise self._error(line, f"<frontmatter> after the papers of volume "
                              f"{volume.anthology_id}; expected it right after <meta>")
        fields: dict[str, str] = {}
        for child in elem:
            if (value := _opt(child)) is not None:
                fields.setdefault(child.tag, value)
        volume.frontmatter = AnthologyFrontmatter(
            anthology_id=build_anthology_id(self.collection_id, volume.volume_id, "0"),
            url=fields.get("url"),
            pages=fields.get("pages"),
            doi=fields.get("doi"),
            bibkey=fields.get("bibkey"),
            line=line,
        )

    def _flush_volume(self, line: int) -> None:
        volume = self._volume
        if volume is None or volume.flushed:
            return
        meta = volume.meta
        if meta is None:
            raise self._error(line, f"volume {volume.anthology_id} has no <meta>; expected "
                              "<meta> with <booktitle> and <year> first in <volume>")
        volume.flushed = True
        self._ready.append(AnthologyVolume(
            anthology_id=volume.anthology_id,
            collection_id=self.collection_id,
            volume_id=volume.volume_id,
            volume_type=volume.volume_type,
            title=meta["booktitle"],
            short_title=meta.get("shortbooktitle"),
            year=meta.get("year"),
            month=meta.get("month"),
            publisher=meta.get("publisher"),
            address=meta.get("address"),
            venues=volume.venues,
            editors=volume.editors,
            url=meta.get("url"),
            doi=meta.get("doi"),
            isbn=meta.get("isbn"),
            journal_volume=meta.get("journal-volume"),
            journal_issue=meta.get("journal-issue"),
            journal_title=meta.get("journal-title"),
            ingest_date=volume.ingest_date,
            frontmatter=volume.frontmatter,
            path=self.path,
            line=volume.line,
        ))

    def _paper(self, elem: Element, line: int) -> AnthologyPaper:
        volume = self._volume
        assert volume is not None and volume.meta is not None
        paper_id = elem.get("id")
        if not paper_id:
            raise self._error(line, f'<paper> in volume {volume.anthology_id} has no id '
                              'attribute; expected e.g. <paper id="1">')
        try:
            anthology_id = build_anthology_id(self.collection_id, volume.volume_id, paper_id)
        except ValueError:
            raise self._error(line, f"paper id {paper_id!r} in old-style collection "
                              f"{self.collection_id!r} is not a number; expected e.g. "
                              '<paper id="1">') from None
        title = abstract = doi = url = pages = language = bibkey = None
        retracted = removed = None
        authors: list[AnthologyPerson] = []
        editors: list[AnthologyPerson] = []
        awards: list[str] = []
        for child in elem:
            tag = child.tag
            if tag == "author":
                authors.append(self._person(child, len(authors) + 1, line))
            elif tag == "title":
                title = _text(child)
            elif tag == "abstract":
                abstract = _opt(child)
            elif tag == "url":
                url = _opt(child)
            elif tag == "doi":
                doi = _opt(child)
            elif tag == "pages":
                pages = _opt(child)
            elif tag == "bibkey":
                bibkey = _opt(child)
            elif tag == "language":
                language = _opt(child)
            elif tag == "award":
                if (award := _opt(child)) is not None:
                    awards.append(award)
            elif tag == "editor":
                editors.append(self._person(child, len(editors) + 1, line))
            elif tag == "retracted":
                retracted = child
            elif tag == "removed":
                removed = child
        if not title:
            raise self._error(line, f"paper {anthology_id} has no <title> (or an empty one); "
                              "expected <title>...</title> in every <paper>")
        return AnthologyPaper(
            anthology_id=anthology_id,
            collection_id=self.collection_id,
            volume_id=volume.anthology_id,
            paper_id=paper_id,
            paper_type=elem.get("type"),
            title=title,
            abstract=abstract,
            authors=tuple(authors),
            editors=tuple(editors),
            doi=doi,
            url=url,
            url_is_external=url is not None and _EXTERNAL_URL.match(url) is not None,
            pages=pages,
            year=volume.meta.get("year"),
            language=language,
            bibkey=bibkey,
            awards=tuple(awards),
            retracted=retracted is not None,
            retracted_date=None if retracted is None else retracted.get("date"),
            retracted_note=None if retracted is None else _opt(retracted),
            removed=removed is not None,
            removed_date=None if removed is None else removed.get("date"),
            removed_note=None if removed is None else _opt(removed),
            path=self.path,
            line=line,
        )

    def _person(self, elem: Element, position: int, line: int) -> AnthologyPerson:
        first = last = affiliation = None
        orcid = elem.get("orcid")
        variants: list[AnthologyName] = []
        for child in elem:
            tag = child.tag
            if tag == "first":
                first = _opt(child)
            elif tag == "last":
                last = _opt(child)
            elif tag == "affiliation":
                affiliation = _opt(child)
            elif tag == "orcid":
                orcid = _opt(child) or orcid
            elif tag == "variant":
                v_first = v_last = None
                for part in child:
                    if part.tag == "first":
                        v_first = _opt(part)
                    elif part.tag == "last":
                        v_last = _opt(part)
                if v_last:
                    variants.append(AnthologyName(v_first, v_last, child.get("script")))
        if not last:
            raise self._error(line, f"an <{elem.tag}> (number {position}) has no <last> name; "
                              f"expected <{elem.tag}><first>..</first><last>..</last>")
        return AnthologyPerson(first, last, position, elem.get("id"), orcid, affiliation,
                               tuple(variants))

    def _event(self, elem: Element, line: int) -> AnthologyEvent:
        event_id = elem.get("id")
        if not event_id:
            raise self._error(line, '<event> has no id attribute; expected e.g. <event id="acl-2024">')
        fields: dict[str, str] = {}
        colocated: list[str] = []
        for child in elem:
            if child.tag == "meta":
                for part in child:
                    if (value := _opt(part)) is not None:
                        fields.setdefault(part.tag, value)
            elif child.tag == "colocated":
                colocated.extend(v for part in child if part.tag == "volume-id" and (v := _opt(part)))
        return AnthologyEvent(
            id=event_id,
            collection_id=self.collection_id,
            title=fields.get("title"),
            location=fields.get("location"),
            dates=fields.get("dates"),
            volumes=tuple(dict.fromkeys([*self._volume_ids, *colocated])),
            colocated=tuple(colocated),
            path=self.path,
            line=line,
        )


class _OpenVolume:
    """What is known of the volume being read, until its record can be built."""

    __slots__ = ("anthology_id", "editors", "flushed", "frontmatter", "ingest_date", "line",
                 "meta", "venues", "volume_id", "volume_type")

    def __init__(self, volume_id: str, anthology_id: str, volume_type: str | None,
                 ingest_date: str | None, line: int):
        self.volume_id = volume_id
        self.anthology_id = anthology_id
        self.volume_type = volume_type
        self.ingest_date = ingest_date
        self.line = line
        self.meta: dict[str, str] | None = None
        self.editors: tuple[AnthologyPerson, ...] = ()
        self.venues: tuple[str, ...] = ()
        self.frontmatter: AnthologyFrontmatter | None = None
        self.flushed = False


# --------------------------------------------------------------------------- people

def slugify_name(first: str | None, last: str) -> str:
    """The Anthology's default person id: "first last" transliterated to ASCII,
    lowercased and hyphenated (`slugify_name("Lluís", "Màrquez") == "lluis-marquez"`),
    as python-slugify makes it upstream; a name in another script keeps a hash of its
    spelling too (see kg.names.person_slug), so different names never share an id."""
    return person_slug(f"{first} {last}" if first else last, limit=None)


def _name_key(first: str | None, last: str) -> tuple[str | None, str]:
    return (" ".join(first.split()) or None if first else None, " ".join(last.split()))


class NameResolver:
    """Maps a printed name (and its optional `id`) to the Anthology person it stands for.

    Rules, as the Anthology applies them to `name_variants.yaml`:
    1. an explicit `id` (an <author id="bill-byrne">) names the person directly;
    2. otherwise a name listed as canonical or variant gives that entry's id (an entry
       without `id` has the slug of its canonical name); a name listed for several
       people without an `id` to choose is resolved to the first id in sorted order
       and flagged `ambiguous`;
    3. otherwise the id is the slug of the name, so names that differ only in accents,
       case or punctuation are one person; the canonical name is the listed one if
       that slug is a listed id, else the name as printed.
    Only `variants` lists are read (a lone `variant:` key is ignored, as upstream).
    """

    __slots__ = ("_by_id", "_by_name", "_cache", "path")

    def __init__(self, path: str, by_id: dict[str, AnthologyIdentity],
                 by_name: dict[tuple[str | None, str], tuple[str, ...]]):
        self.path = path
        self._by_id = by_id
        self._by_name = by_name
        self._cache: dict[tuple[str | None, str], AnthologyIdentity] = {}

    def __len__(self) -> int:
        """The number of listed people (ids)."""
        return len(self._by_id)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._by_id

    def ids_for(self, first: str | None, last: str) -> tuple[str, ...]:
        """The listed ids a name is canonical or variant for (several for homonyms)."""
        return self._by_name.get(_name_key(first, last), ())

    def resolve(self, first: str | None, last: str, id: str | None = None) -> AnthologyIdentity:
        """The person behind a printed name (see the class docstring for the rules)."""
        if id is not None:
            listed = self._by_id.get(id)
            if listed is not None:
                return listed
            key = _name_key(first, last)
            return AnthologyIdentity(id, key[0], key[1], None, listed=False, ambiguous=False)
        key = _name_key(first, last)
        known = self._cache.get(key)
        if known is not None:
            return known
        ids = self._by_name.get(key)
        if ids:
            identity = self._by_id[ids[0]]
            if len(ids) > 1:
                identity = AnthologyIdentity(identity.id, identity.first, identity.last,
                                             identity.orcid, listed=True, ambiguous=True)
        else:
            slug = slugify_name(key[0], key[1])
            identity = self._by_id.get(slug) or AnthologyIdentity(
                slug, key[0], key[1], None, listed=False, ambiguous=False)
        self._cache[key] = identity
        return identity

    def resolve_person(self, person: AnthologyPerson) -> AnthologyIdentity:
        """Like `resolve`, keeping an ORCID printed with the name when the list has none."""
        identity = self.resolve(person.first, person.last, person.id)
        if person.orcid and not identity.orcid:
            return AnthologyIdentity(identity.id, identity.first, identity.last, person.orcid,
                                     identity.listed, identity.ambiguous)
        return identity


def load_name_variants(path: str | Path) -> NameResolver:
    """Read `name_variants.yaml` into a NameResolver; SourceError if it cannot be used."""
    shown = str(path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, "rb") as handle:
            entries = yaml.load(handle, Loader=loader)
    except OSError as exc:
        raise unreadable(shown, exc, "expected the Anthology's yaml/name_variants.yaml") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SourceError(shown, mark.line + 1 if mark else None,
                          f"malformed YAML ({getattr(exc, 'problem', exc)}); expected a list of "
                          "entries with canonical: {first, last}") from None
    if not isinstance(entries, list):
        raise SourceError(shown, None, "expected a YAML list of entries with canonical: "
                          "{first, last}; this is not name_variants.yaml")

    def name_of(entry_number: int, value: object) -> tuple[str | None, str]:
        if not isinstance(value, dict) or not isinstance(value.get("last"), str) \
                or not value["last"].strip():
            raise SourceError(shown, None, f"entry {entry_number} has a name without a last "
                              f"name: {value!r}; expected {{first: ..., last: ...}}")
        first = value.get("first")
        return _name_key(first if isinstance(first, str) else None, value["last"])

    by_id: dict[str, AnthologyIdentity] = {}
    by_name: dict[tuple[str | None, str], list[str]] = {}
    parsed: list[tuple[int, str, list]] = []
    # Explicit ids first, so that an entry without one cannot take a listed id's slug.
    for explicit in (True, False):
        for number, entry in enumerate(entries, 1):
            if not isinstance(entry, dict) or "canonical" not in entry:
                raise SourceError(shown, None, f"entry {number} has no canonical name: {entry!r}")
            if ("id" in entry) != explicit:
                continue
            canonical = name_of(number, entry["canonical"])
            person_id = str(entry["id"]) if explicit else slugify_name(*canonical)
            orcid = entry.get("orcid")
            by_id.setdefault(person_id, AnthologyIdentity(
                person_id, canonical[0], canonical[1], str(orcid) if orcid else None,
                listed=True, ambiguous=False))
            by_name.setdefault(canonical, []).append(person_id)
            parsed.append((number, person_id, entry.get("variants") or []))
    for number, person_id, variants in parsed:
        for variant in variants:
            key = name_of(number, variant)
            if key not in by_name:  # upstream keeps the first claim on a variant
                by_name[key] = [person_id]
    return NameResolver(shown, by_id, {k: tuple(sorted(set(v))) for k, v in by_name.items()})
