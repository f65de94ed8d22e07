"""Reader for "A quick guide to <organisation>'s papers at <conference>" articles.

Owns the layout of the guide family: title, intro, headings, papers, figures and
job postings; it yields a `Guide` record and never guesses silently.

The layout is read as blocks of non-blank lines:

- the first line is the article title, prose paragraphs up to the first heading
  or paper are the intro (the first short one is the standfirst);
- a heading is a one-line block with no closing punctuation; prose paragraphs
  right after it describe it; a heading with no paper under it is reported;
  a page may have no headings at all;
- a paper is a title line followed by a byline (comma-separated names, maybe
  "and"); a title ending in "*" carries the guide's asterisk mark; nicknames
  (quoted or in parentheses) are aliases, never co-authors;
- a figure is an image file name followed by its caption; the caption is matched
  against every paper of the guide once all are read;
- after "Related content", a location line ("US, WA, Bellevue") starts a job
  posting whose description runs to the next location line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from kg.errors import SourceError, unreadable
from kg.names import title_key
from kg.records import Author, Figure, Guide, Issue, Location, Paper, Posting, Topic

IMAGE = re.compile(r"^\S.*\.(png|jpe?g|gif|svg|webp|tiff?)$", re.IGNORECASE)
LOCATION = re.compile(r"^([A-Z]{2})(?:,\s*([^,]{1,40}))?(?:,\s*([^,]{1,40}))?$")
RELATED = re.compile(r"^related (content|jobs|positions|roles)$", re.IGNORECASE)
# "Amazon's papers at ACL 2024", also with a count: "Amazon's 20-plus papers at ..."
GUIDE_TITLE = re.compile(
    r"guide to (?P<org>.+?)[’']s?\s+(?:\S*\d\S*\s+)?(?:papers|publications)\s+(?:at|in)\s+"
    r"(?P<event>.+?)\s*$",
    re.IGNORECASE,
)
# a closing single quote is not an apostrophe: ‘Don’t stop’, 'Don't stop'
QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"|‘(.+?)’(?!\w)|(?<!\w)'(.+?)'(?!\w)")
# nicknames: “JJ”, "JJ", ‘JJ’, 'JJ' (not the apostrophe of O'Neil), (Anita)
NICK_INLINE = re.compile(
    r"\s*(?:[\"“]([^\"“”]+)[\"”]|(?<!\w)['‘]([^'‘’]+)['’](?!\w)|\(([^()]+)\))\s*"
)
NICK_ALONE = re.compile(r"^(?:[\"“]([^\"“”]+)[\"”]|['‘]([^'‘’]+)['’]|\(([^()]+)\))$")
# "Martin Lopez, Jr.": a comma before a generational suffix does not start a new name
NAME_SUFFIX = re.compile(r"^(?:Jr|Sr|II|III|IV)\.?$")
# "A, B and C", "A & B"; CJK bylines separate names with ， or 、
AND_SPLIT = re.compile(r"[,，、]\s*(?:and\s+)?|\s+and\s+|\s*&\s*")
# sentence and clause ends, full-width ones too
CLOSING = (".", "!", "?", ":", ";", ",", "。", "！", "？", "：", "；", "，")
NAME_PARTICLES = {
    "al", "bin", "binti", "da", "das", "de", "del", "della", "den", "der", "des", "di", "do",
    "dos", "du", "el", "ibn", "la", "le", "st", "ten", "ter", "van", "von", "y", "zu",
}
JOB_HEAD = (
    r"(?:scientist|engineer|economist|researcher|manager|analyst|intern|developer|"
    r"designer|architect|specialist|linguist|director|lead|consultant|technologist)"
)
# "seeking a dedicated, skilled, and innovative Applied Scientist with ..."
ROLE_CUE = re.compile(r"\b(?:seeking|looking for|hiring|recruiting)\s+(?:an?|the)\s+|^as an?\s+", re.IGNORECASE)
ROLE_HEAD = re.compile(r"\b" + JOB_HEAD + r"s?(?:\s+intern)?\b", re.IGNORECASE)
ROLE_MODIFIERS = {
    "applied", "research", "senior", "principal", "staff", "junior", "lead", "chief",
    "data", "software", "machine", "learning", "language", "postdoctoral", "ml", "ai", "nlp",
}
TEAM = re.compile(
    r"(?:^|[.!?]\s+)(?:the\s+|our\s+)?(?:(?P<org>[A-Z][\w&]*)[’']s\s+)?"
    r"(?P<team>(?:[A-Z][\w&-]*|\([A-Z]+\)|and|of|for|&)(?:\s+(?:[A-Z][\w&-]*|\([A-Z]+\)|and|of|for|&))*?)"
    r"\s+(?:team|group|organization|org)\b",
)
AT_UNIT = re.compile(r"^At (?P<team>[A-Z][^,]{2,80}),")
INTERN = re.compile(r"\bintern(ship)?s?\b", re.IGNORECASE)


@dataclass
class _Block:
    line: int  # 1-based line number of the first line
    lines: list[str]


def read_guide(path: str | Path) -> Guide:
    """Read one guide file; raise SourceError if it is unreadable or holds no paper."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc, "expected a guide text file") from None
    text = _decode(path, raw)
    return parse_guide(text, path=str(path), sha256=hashlib.sha256(raw).hexdigest())


def parse_guide(text: str, *, path: str = "<string>", sha256: str | None = None) -> Guide:
    """Parse the text of a guide (see the module docstring for the layout)."""
    if sha256 is None:
        sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    text = text.removeprefix("\ufeff")  # a BOM left by a caller that decoded as plain utf-8
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks = _blocks(lines)
    if not blocks:
        raise SourceError(path, 1, "the file is empty or blank; expected a guide starting with its title")
    return _Parser(path, sha256, blocks).parse()


def _decode(path: Path, raw: bytes) -> str:
    if not raw.strip():
        raise SourceError(path, 1, "the file is empty; expected a guide starting with its title")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(path, 1, "the file is UTF-16 (byte-order mark); expected UTF-8 text "
                                   "(re-save it as UTF-8, e.g. `iconv -f utf-16 -t utf-8`)")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise SourceError(path, line, "binary data (NUL byte); expected a UTF-8 text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            path, line,
            f"byte 0x{raw[exc.start]:02x} is not UTF-8; expected UTF-8 text "
            "(re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`)",
        ) from exc


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            current = None
            continue
        if current is None:
            current = _Block(number, [])
            blocks.append(current)
        current.lines.append(line)
    return blocks


class _Parser:
    """One pass over the blocks; keeps the current heading and section."""

    def __init__(self, path: str, sha256: str, blocks: list[_Block]):
        self.path = path
        self.sha256 = sha256
        self.blocks = blocks
        self.issues: list[Issue] = []
        self.topics: list[Topic] = []
        self.papers: list[Paper] = []
        self.figures: list[Figure] = []
        self.postings: list[Posting] = []
        self.intro: list[str] = []
        self.heading: Topic | None = None
        self.heading_papers = 0

    def warn(self, line: int, message: str) -> None:
        self.issues.append(Issue(self.path, line, message))

    def parse(self) -> Guide:
        first = self.blocks[0]
        title = first.lines[0]
        rest = [_Block(first.line + 1, first.lines[1:])] if len(first.lines) > 1 else []
        in_intro = True
        related = False
        for block in rest + self.blocks[1:]:
            head = block.lines[0]
            if related:
                self._postings(block)
            elif RELATED.match(head) and len(block.lines) == 1:
                self._close_heading()
                related = True
            elif IMAGE.match(head):
                self._figure(block)
            elif self._paper_block(block):
                in_intro = False
            elif len(block.lines) == 1 and _is_orphan_byline(head):
                self.warn(block.line, f"cannot place this line: {_clip(head)!r} (an author line "
                                      "with no paper title above it; not read as authors)")
            elif len(block.lines) == 1 and _is_heading(head):
                in_intro = False
                self._close_heading()
                self.heading = Topic(head, block.line)
                self.heading_papers = 0
            elif len(block.lines) == 1 and in_intro:
                self.intro.append(head)
            elif len(block.lines) == 1 and self.heading and not self.heading_papers \
                    and _is_prose(head):
                described = "\n\n".join(filter(None, [self.heading.description, head]))
                self.heading = Topic(self.heading.label, self.heading.line, described)
            elif LOCATION.match(head) and len(block.lines) >= 2:
                # postings without a "Related content" marker
                related = True
                self._close_heading()
                self._postings(block)
            else:
                for offset, line in enumerate(block.lines):
                    self.warn(block.line + offset, f"cannot place this line: {_clip(line)!r}")
        self._close_heading()
        self.papers = self._merge_repeats(self.papers)
        titles = [p.title for p in self.papers]
        self.figures = [replace(f, paper_title=_caption_title(f.caption, titles)) for f in self.figures]
        if not self.papers:
            raise SourceError(
                self.path, self.blocks[-1].line,
                "no paper found; expected a title line followed directly by a line of "
                "comma-separated author names",
            )
        org = event = None
        match = GUIDE_TITLE.search(title)
        if match:
            org, event = match["org"].strip(), match["event"].strip()
        else:
            self.warn(first.line, "title does not name an organisation and an event "
                                  "(expected 'A quick guide to X's papers at EVENT')")
        summary = self.intro[0] if self.intro and len(self.intro[0]) < 300 else None
        body = self.intro[1:] if summary else self.intro
        note = next((s for s in _sentences(" ".join(self.intro)) if "asterisk" in s.lower()), None)
        return Guide(
            path=self.path,
            file_name=Path(self.path).name,
            sha256=self.sha256,
            title=title,
            summary=summary,
            intro="\n\n".join(body) or None,
            organisation=org,
            event=event,
            asterisk_note=note,
            topics=tuple(self.topics),
            papers=tuple(self.papers),
            figures=tuple(self.figures),
            postings=tuple(self.postings),
            issues=tuple(sorted(self.issues, key=lambda i: i.line)),  # empty headings are found late
        )

    def _merge_repeats(self, papers: list[Paper]) -> list[Paper]:
        """A paper listed more than once (under two headings, or twice under one) is one
        paper with every heading it sits under, at its first listing; a warning names both
        lines, and says so when the bylines differ (the first is kept)."""
        merged: dict[str, Paper] = {}
        for paper in papers:
            key = title_key(paper.title)
            first = merged.get(key)
            if first is None:
                merged[key] = paper
                continue
            names = [a.name for a in paper.authors]
            same = names == [a.name for a in first.authors]
            self.warn(paper.line, f"{_clip(paper.title)!r} is listed again (first at line {first.line}); "
                                  "read as one paper with the topics of both"
                                  + ("" if same else f", and the byline of line {first.authors_line}"))
            topics = first.topics + tuple(t for t in paper.topics if t not in first.topics)
            merged[key] = replace(first, topics=topics, starred=first.starred or paper.starred)
        return list(merged.values())

    def _close_heading(self) -> None:
        if self.heading is None:
            return
        if self.heading_papers:
            self.topics.append(self.heading)
        else:
            self.warn(self.heading.line,
                      f"heading {self.heading.label!r} has no paper under it; it is not made a topic")
        self.heading = None
        self.heading_papers = 0

    def _paper_block(self, block: _Block) -> bool:
        """Read title/byline pairs; False if the block does not start with one."""
        lines = block.lines
        if len(lines) < 2 or not _is_title(lines[0]) or _parse_byline(lines[1]) is None:
            return False
        i = 0
        while i < len(lines):
            number = block.line + i
            if IMAGE.match(lines[i]):  # a figure with no blank line before it
                self._figure(_Block(number, lines[i:]))
                break
            authors = _parse_byline(lines[i + 1]) if i + 1 < len(lines) else None
            if authors is None or not _is_title(lines[i]):
                self.warn(number, f"cannot place this line: {_clip(lines[i])!r} "
                                  "(expected a paper title followed by its author line)")
                i += 1
                continue
            title, starred = _strip_mark(lines[i])
            self.papers.append(Paper(
                title=title,
                authors=authors,
                topics=(self.heading.label,) if self.heading else (),
                starred=starred,
                line=number,
                authors_line=number + 1,
            ))
            if self.heading:
                self.heading_papers += 1
            i += 2
        return True

    def _figure(self, block: _Block) -> None:
        if len(block.lines) < 2:
            self.warn(block.line, f"image {block.lines[0]!r} has no caption line after it; skipped")
            return
        # paper_title is filled in by parse() once every paper is known
        self.figures.append(Figure(
            file_name=block.lines[0],
            caption=" ".join(block.lines[1:]),
            line=block.line,
            paper_title=None,
            preceding_title=self.papers[-1].title if self.papers else None,
        ))

    def _postings(self, block: _Block) -> None:
        current: tuple[int, Location, list[str]] | None = None

        def flush() -> None:
            if current is None:
                return
            number, location, text = current
            if not text:
                self.warn(number, f"location {location.text!r} has no description after it; skipped")
                return
            self.postings.append(_posting(location, " ".join(text), number, self.organisation))

        for offset, line in enumerate(block.lines):
            number = block.line + offset
            match = LOCATION.match(line)
            if match and len(line) <= 80:
                flush()
                country, region, locality = match.groups()
                if locality is None:  # "GB, London": two parts are country and city
                    region, locality = None, region
                current = (number, Location(line, country, region, locality), [])
            elif current is not None:
                current[2].append(line)
            else:
                self.warn(number, f"cannot place this line: {_clip(line)!r} "
                                  "(expected a location such as 'US, WA, Seattle')")
        flush()

    @property
    def organisation(self) -> str | None:
        match = GUIDE_TITLE.search(self.blocks[0].lines[0])
        return match["org"].strip() if match else None


def _is_heading(line: str) -> bool:
    return len(line) <= 80 and len(line.split()) <= 8 and not line.endswith(CLOSING)


def _is_prose(line: str) -> bool:
    return line.endswith((".", "!", "?", "”", '"', ")", "。", "！", "？")) and len(line.split()) >= 3


def _is_title(line: str) -> bool:
    """A title may look like one name ("Terminology Aware Decoding"), never like a list."""
    authors = _parse_byline(line)
    return not IMAGE.match(line) and (authors is None or len(authors) == 1)


def _is_orphan_byline(line: str) -> bool:
    """"Ana Lima, Tom Berg" alone: a byline that lost its title, not a heading."""
    authors = _parse_byline(line)
    return bool(authors) and "," in line and len(authors) >= 2 \
        and all(len(a.name.split()) >= 2 for a in authors)


def _strip_mark(title: str) -> tuple[str, bool]:
    stripped = title.rstrip()
    if stripped.endswith("*"):
        return stripped.rstrip("*").rstrip(), True
    return stripped, False


def _clip(text: str, size: int = 60) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def _parse_byline(line: str) -> tuple[Author, ...] | None:
    """Authors of a byline in order, or None if the line is not a list of names."""
    if len(line) > 1500 or line.endswith((".", ":", "?", "!", "*", "。", "：", "？", "！")):
        return None
    items = [item.strip() for item in AND_SPLIT.split(line)]
    if any(not item for item in items):
        return None
    authors: list[Author] = []
    for item in items:
        alone = NICK_ALONE.match(item)
        suffix = NAME_SUFFIX.match(item)
        if (alone or suffix) and not authors:
            return None
        if alone:
            prev = authors[-1]
            nick = next(g for g in alone.groups() if g).strip()
            authors[-1] = Author(prev.printed, prev.name, (*prev.aliases, nick))
            continue
        if suffix:
            prev = authors[-1]
            authors[-1] = Author(f"{prev.printed}, {item}", f"{prev.name} {item}", prev.aliases)
            continue
        aliases = tuple(next(g for g in m if g).strip() for m in NICK_INLINE.findall(item))
        name = " ".join(NICK_INLINE.sub(" ", item).split())
        if not _is_name(name):
            return None
        authors.append(Author(printed=item, name=name, aliases=aliases))
    return tuple(authors) if authors else None


def _is_name(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 6:
        return False
    capitalised = 0
    for word in words:
        core = word.strip(".,'’-")
        if not core:
            return False
        if core.lower() in NAME_PARTICLES:
            continue
        if not re.fullmatch(r"[^\W\d_]+(?:[.'’-][^\W\d_]*)*\.?", core):
            return False
        if core[0].islower():  # scripts without case (CJK, Arabic, ...) have no capitals
            return False
        capitalised += 1
    return capitalised >= 1


def _norm_title(title: str) -> str:
    title = title.replace("—", "-").replace("–", "-").replace("’", "'").replace("‘", "'")
    return " ".join(re.sub(r"[^\w'-]+", " ", title.casefold()).split())


def _caption_title(caption: str, titles: list[str]) -> str | None:
    """The paper title a caption names: a quoted span that matches a known title.

    Captions may quote other things first ("for the query “…”. From “Title”."), so
    every quoted span is tried, the last one first; an unquoted title of three
    or more words is found too (shorter ones are ordinary phrases).
    """
    known = {_norm_title(t): t for t in titles}
    spans = [next(g for g in m.groups() if g is not None) for m in QUOTED.finditer(caption)]
    for span in reversed(spans):
        span = span.strip().rstrip(".").strip()
        hit = known.get(_norm_title(span))
        if hit:
            return hit
    norm = _norm_title(caption)
    for key in sorted(known, key=len, reverse=True):
        if len(key.split()) >= 3 and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", norm):
            return known[key]
    # a quoted span after "from"/"in"/"of" names a paper this guide does not list
    for span in reversed(spans):
        before = caption[: caption.find(span)].rstrip("“\"‘' ").lower()
        if before.endswith(("from", "in", "of")):
            return span.strip().rstrip(".")
    return None


def _posting(location: Location, text: str, line: int, organisation: str | None) -> Posting:
    title = team = None
    for sentence in _sentences(text):
        found = _role_title(sentence)
        if found:
            title, start = found
            team = _team(sentence[:start])
            # "As a STRUC Economist Intern": a leading acronym names the team
            first, _, rest = title.partition(" ")
            if rest and first.isupper() and len(first) > 1:
                team = team or first
                title = rest
            title = _title_case(title)
            break
    if team is None:
        unit = AT_UNIT.match(text)
        team = unit["team"].strip() if unit else None
    return Posting(
        location=location,
        description=text,
        title=title,
        team=team,
        organisation=organisation,
        internship=bool(INTERN.search(title or "")) or bool(re.search(r"\binternship\b", text, re.IGNORECASE)),
        line=line,
    )


def _role_title(sentence: str) -> tuple[str, int] | None:
    """The job title a hiring sentence names, and where its clause starts."""
    cue = ROLE_CUE.search(sentence)
    if not cue:
        return None
    head = ROLE_HEAD.search(sentence, cue.end())
    if not head or head.start() - cue.end() > 120:
        return None
    words = sentence[cue.end():head.start()].replace(",", " ").split()
    kept: list[str] = []
    for word in reversed(words):
        if len(kept) == 3 or not (word[:1].isupper() or word.lower() in ROLE_MODIFIERS):
            break
        kept.insert(0, word)
    return " ".join([*kept, head.group(0)]), cue.start()


def _team(lead: str) -> str | None:
    matches = list(TEAM.finditer(lead))
    if not matches:
        return None
    team = re.sub(r"^(?:the|our)\s+", "", matches[-1]["team"].strip(), flags=re.IGNORECASE)
    return team or None


def _title_case(text: str) -> str:
    words = text.split()
    return " ".join(w if w.isupper() and len(w) > 1 else w[:1].upper() + w[1:].lower() for w in words)
