"""SPARQL text read as the tokens of the SPARQL 1.1 grammar, without running it.

The one place that decides what a query is before a store sees it: its form, whether
it is an update, whether it calls SERVICE, its dataset (FROM / FROM NAMED), how deeply
it nests, and where a VALUES block can go. The tokens follow the grammar's terminals
as Oxigraph 0.5 parses them (strings with their escapes, IRIs, prefixed names with
`\\#`-style escapes, comments), so a keyword cannot hide in what only looks like a
string, an IRI or a comment. SPARQL applies `\\uXXXX` escapes to the whole text before
parsing; Oxigraph 0.5 does not (tested), so the text is read as written, and SERVICE
is looked for in both readings: a query that would call it either way is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
MAX_DEPTH = 200  # nested groups, brackets and parentheses a query may open at once

_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
         "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + r"\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PREFIX = f"[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?"
_LOCAL = f"(?:[{_CHARS_U}:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?"
_VARNAME = f"[{_CHARS_U}0-9][{_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*"

_TOKEN = re.compile(rf'''
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]{_VARNAME})
  | (?P<bnode>_:[{_CHARS_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?)
  | (?P<pname>(?:{_PREFIX})?:(?:{_LOCAL})?)
  | (?P<number>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
  | (?P<punct>\^\^|&&|\|\||!=|<=|>=|[{{}}()\[\];,.*=<>!+\-/|^?$])
  | (?P<other>.)
''', re.VERBOSE | re.DOTALL)

_OPEN, _CLOSE = "{[(", "}])"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # space comment string iri var bnode pname number word lang punct other
    text: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """Every token of `text`, comments and spaces included."""
    return [Token(m.lastgroup, m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _code(found: list[Token]) -> list[Token]:
    return [t for t in found if t.kind not in ("space", "comment")]


@dataclass(frozen=True)
class Reading:
    """What a query's text says about it."""

    form: str  # SELECT | ASK | CONSTRUCT | DESCRIBE, an update keyword (INSERT, ...), or ""
    update: bool  # an update request (or a query with an update keyword in it)
    service: bool  # calls SERVICE somewhere
    depth: int  # the most groups, brackets and parentheses open at once
    default_graphs: tuple[str, ...]  # FROM IRIs, resolved
    named_graphs: tuple[str, ...]  # FROM NAMED IRIs, resolved
    body: int | None  # offset just after the top-level WHERE group's "{"
    prefixes: dict[str, str]  # PREFIX declarations, the given ones included

    @property
    def dataset(self) -> bool:
        """Whether the query names its own dataset (FROM / FROM NAMED)."""
        return bool(self.default_graphs or self.named_graphs)


def read(text: str, prefixes: dict[str, str] | None = None) -> Reading:
    """Read a query's text (see Reading). `prefixes` are predeclared, as a store adds them."""
    code = _code(tokens(text))
    declared = dict(prefixes or {})
    base = ""
    i = 0
    while i < len(code):  # the prologue: BASE and PREFIX declarations
        word = code[i].text.upper() if code[i].kind == "word" else ""
        if word == "BASE" and i + 1 < len(code) and code[i + 1].kind == "iri":
            base = urljoin(base, code[i + 1].text[1:-1])
            i += 2
        elif word == "PREFIX" and i + 2 < len(code) and code[i + 1].kind == "pname" \
                and code[i + 2].kind == "iri":
            declared[code[i + 1].text[:-1]] = urljoin(base, code[i + 2].text[1:-1])
            i += 3
        else:
            break
    form = code[i].text.upper() if i < len(code) and code[i].kind == "word" else ""
    words = {t.text.upper() for t in code if t.kind == "word"}
    update = form in UPDATE_WORDS or (form not in QUERY_FORMS and bool(words & set(UPDATE_WORDS)))
    default, named = _dataset(code, declared, base)
    unescaped = unescape_codepoints(text)
    service = "SERVICE" in words or (unescaped != text and any(
        t.kind == "word" and t.text.upper() == "SERVICE" for t in tokens(unescaped)))
    return Reading(
        form=form if form in QUERY_FORMS or form in UPDATE_WORDS else "",
        update=update,
        service=service,
        depth=_depth(code),
        default_graphs=default,
        named_graphs=named,
        body=_body(code, form),
        prefixes=declared,
    )


_CODEPOINT = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)


def unescape_codepoints(text: str) -> str:
    """`\\uXXXX` and `\\UXXXXXXXX` escapes applied to the whole text, as the SPARQL spec
    (and spargebra's standard-unicode-escaping) applies them before parsing: a backslash
    protects nothing, not even one before it."""
    def one(match: re.Match) -> str:
        escape = match.group(1)
        if len(escape) > 1:
            point = int(escape[1:], 16)
            if point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF:
                return chr(point)
        return match.group(0)
    if "\\u" not in text and "\\U" not in text:
        return text
    out, pending = [], text
    while True:  # a backslash that escapes nothing is re-read with what follows it
        found = _CODEPOINT.search(pending)
        if found is None:
            out.append(pending)
            return "".join(out)
        out.append(pending[:found.start()])
        replaced = one(found)
        if replaced == found.group(0):
            out.append("\\")
            pending = pending[found.start() + 1:]
        else:
            out.append(replaced)
            pending = pending[found.end():]


def _depth(code: list[Token]) -> int:
    depth = deepest = 0
    for t in code:
        if t.kind == "punct" and t.text in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif t.kind == "punct" and t.text in _CLOSE:
            depth -= 1
    return deepest


def _resolve(token: Token, prefixes: dict[str, str], base: str) -> str | None:
    if token.kind == "iri":
        return urljoin(base, token.text[1:-1]) if base else token.text[1:-1]
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        namespace = prefixes.get(prefix)
        return None if namespace is None else namespace + re.sub(r"\\(.)", r"\1", local)
    return None


def _dataset(code: list[Token], prefixes: dict[str, str], base: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """FROM and FROM NAMED graphs, at the top level (before the WHERE group)."""
    default: list[str] = []
    named: list[str] = []
    depth = 0
    for i, t in enumerate(code):
        if t.kind == "punct" and t.text in _OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in _CLOSE:
            depth -= 1
        elif depth == 0 and t.kind == "word" and t.text.upper() == "FROM" and i + 1 < len(code):
            nxt = code[i + 1]
            is_named = nxt.kind == "word" and nxt.text.upper() == "NAMED"
            target = code[i + 2] if is_named and i + 2 < len(code) else nxt
            iri = _resolve(target, prefixes, base)
            if iri is not None:
                (named if is_named else default).append(iri)
    return tuple(default), tuple(named)


def _body(code: list[Token], form: str) -> int | None:
    """Offset just after the "{" of the top-level WHERE group (CONSTRUCT's template
    group is not it), where a VALUES block binds the whole pattern."""
    if form not in QUERY_FORMS:
        return None
    depth = 0
    where_seen = template_done = False
    last = None
    for t in code:
        if depth == 0 and t.kind == "word" and t.text.upper() == "WHERE":
            where_seen = True
        if t.kind == "punct" and t.text == "{":
            if depth == 0:
                template = form == "CONSTRUCT" and not where_seen and not template_done \
                    and last is not None and last.kind == "word" and last.text.upper() == "CONSTRUCT"
                if template:
                    template_done = True
                else:
                    return t.end
            depth += 1
        elif t.kind == "punct" and t.text in _OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in _CLOSE:
            depth -= 1
        last = t
    return None


def with_values(text: str, block: str) -> str:
    """`text` with `block` (a VALUES clause) first inside its top-level WHERE group."""
    found = read(text)
    if found.body is None:
        raise SyntaxError("cannot find the query's WHERE group to bind parameters in")
    return text[:found.body] + block + text[found.body:]


def with_prefixes(text: str, prefixes: dict[str, str] | None) -> str:
    """`text` with PREFIX declarations for those of `prefixes` it does not declare."""
    if not prefixes:
        return text
    declared = read(text).prefixes
    head = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items() if p not in declared)
    return head + text
