"""Entity pages for `kg serve`: everything the store says about one IRI, as escaped HTML,
with what a person, paper or topic page shows first (kg.web.views); and the JSON the home
page asks for (overview, search suggestions).

Runs in a query worker (it reads the store). Every value is escaped, so a label holding
markup shows as text; the only script is /static/app.js (sortable tables, the search box).
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from urllib.parse import quote

import pyoxigraph as ox

from kg.errors import QueryError, UnknownNameError
from kg.facts import Entity as Description
from kg.facts import Fact, describe_iri, prefixed
from kg.namespaces import PREFIXES, base_iri
from kg.queries import ENTITY_KINDS, canonical, find_entity
from kg.store import Store
from kg.web import views

HTML_TYPE = "text/html; charset=utf-8"
ASSET_TYPES = {".html": HTML_TYPE, ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8"}
# no inline script or style anywhere: everything comes from this server
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSETS = ("index.html", "app.js", "style.css")

def asset(name: str) -> tuple[bytes, str] | None:
    """The bytes and content type of a shipped asset, or None."""
    if name not in ASSETS:
        return None
    return files("kg.web").joinpath(name).read_bytes(), ASSET_TYPES[name[name.rindex("."):]]


def page_config() -> dict:
    """What app.js needs to know: the prefixes and the base of entity IRIs."""
    return {"prefixes": PREFIXES, "base": base_iri(), "kinds": list(ENTITY_KINDS)}


def web_job(store: Store, job: dict) -> tuple[int, str, bytes, dict[str, str]]:
    """A job for the web page: "entity" (entity_job), "overview" or "suggest" (JSON)."""
    if job["kind"] == "entity":
        return entity_job(store, job)
    data = views.overview(store) if job["kind"] == "overview" else views.suggest(store, job.get("q") or "")
    return 200, "application/json", json.dumps(data, ensure_ascii=False).encode("utf-8"), {}


_SECTIONS = {"person": lambda store, d: views.person_sections(store, d.iri, d.label),
             "paper": lambda store, d: views.paper_sections(store, d.iri),
             "topic": lambda store, d: views.topic_sections(store, d.iri, d.label)}


def entity_job(store: Store, job: dict) -> tuple[int, str, bytes, dict[str, str]]:
    """Answer /entity and /api/entity: by `iri`, or by `name` (and `kind`) with a redirect.

    Returns (status, content type, body, headers)."""
    as_json = job.get("format") == "json"
    path = "/api/entity" if as_json else "/entity"
    iri = job.get("iri")
    if iri is None:
        kind = job.get("entity_kind") or "any"
        name = job.get("name") or ""
        try:
            found = find_entity(store, kind, name)
        except UnknownNameError as exc:
            hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
            return _error(404, f"no {'entity' if kind == 'any' else kind} named {name!r}{hint}", as_json,
                          [(s, f"{path}?kind={quote(kind)}&name={quote(s)}") for s in exc.suggestions])
        except QueryError as exc:
            return _error(400, str(exc), as_json)
        return 303, "text/plain; charset=utf-8", b"", {"Location": f"{path}?iri={quote(found.value, safe='')}"}
    try:
        merged = canonical(store, ox.NamedNode(iri))
    except ValueError:
        return _error(400, f"{iri!r} is not an IRI", as_json)
    if merged.value != iri:  # a source's own IRI for what the default graph merged
        return 303, "text/plain; charset=utf-8", b"", {"Location": f"{path}?iri={quote(merged.value, safe='')}"}
    description = describe_iri(store, iri)
    if description is None:
        return _error(404, f"the store says nothing about <{iri}>", as_json)
    if as_json:
        body = json.dumps(description.as_json(), ensure_ascii=False, indent=1).encode("utf-8")
        return 200, "application/json", body, {}
    sections = _SECTIONS.get(description.kind)
    extra = sections(store, description) if sections else ""
    return 200, HTML_TYPE, render_entity(description, extra).encode("utf-8"), dict(SECURITY_HEADERS)


def _error(status: int, message: str, as_json: bool, links: list[tuple[str, str]] | None = None):
    if as_json:
        body = json.dumps({"error": message, "suggestions": [s for s, _ in links or []]}, ensure_ascii=False)
        return status, "application/json", body.encode("utf-8"), {}
    items = "".join(f'<li><a href="{_e(url)}">{_e(text)}</a></li>' for text, url in links or [])
    main = f'<p class="error">{_e(message)}</p>' + (f"<ul>{items}</ul>" if items else "")
    return status, HTML_TYPE, _page("Not found" if status == 404 else "Error", main).encode("utf-8"), \
        dict(SECURITY_HEADERS)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def entity_href(iri: str) -> str:
    return "/entity?iri=" + quote(iri, safe="")


def _value(fact: Fact) -> str:
    if fact.iri is None:
        return f'<span class="literal">{_e(fact.value)}</span>'
    if fact.iri.startswith(base_iri()):
        return f'<a href="{_e(entity_href(fact.iri))}">{_e(fact.value)}</a>'
    shown = prefixed(fact.iri) if fact.value == fact.iri else fact.value
    return f'<span class="iri" title="{_e(fact.iri)}">{_e(shown)}</span>'


def _facts_table(facts: list[Fact], caption: str, css: str) -> str:
    if not facts:
        return ""
    rows = "".join(
        f'<tr><td class="predicate" title="{_e(f.predicate_iri)}">{_e(f.predicate)}</td>'
        f"<td>{_value(f)}</td><td class=\"source\">{_e(', '.join(f.sources))}</td></tr>"
        for f in facts)
    return (f'<table class="facts {css}"><caption>{_e(caption)}</caption>'
            f"<thead><tr><th>property</th><th>value</th><th>graph source</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def render_entity(d: Description, sections: str = "") -> str:
    """The entity page: `sections` (already HTML: a person's papers, chart and network,
    ...), then its facts both ways, each with its source files, and where the sources read it."""
    out = [f for f in d.facts if f.direction == "out"]
    # byline slots (.../author/1) say nothing by their IRIs: the paper's sections list them by name
    into = [f for f in d.facts if f.direction == "in"
            and not (sections and d.kind == "paper" and f.predicate == "pro:relatesToDocument")]
    sources = "".join(f"<li>{_e(s)}</li>" for s in d.sources)
    main = (f'<header class="entity"><h1 id="label">{_e(d.label)}</h1>'
            f'<p><span class="kind" id="kind">{_e(d.kind)}</span> <code id="iri">{_e(d.iri)}</code></p></header>'
            + sections
            + ('<h2 id="facts">All facts</h2>' if sections else "")
            + _facts_table(out, "What it says", "out")
            + _facts_table(into, "What points to it", "in")
            + (f'<section id="provenance"><h2>Provenance</h2><ul class="sources">{sources}</ul></section>'
               if sources else ""))
    return _page(f"{d.label} ({d.kind})", main)


def _page(title: str, main: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)} · kg</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
            "<script src=\"/static/app.js\" defer></script></head>"
            "<body><nav><a href=\"/\">kg</a> · knowledge graph"
            "<form class=\"search\" action=\"/entity\" role=\"search\"><input name=\"name\" type=\"search\" "
            "placeholder=\"Search people, papers, topics\" aria-label=\"Search\" autocomplete=\"off\"></form></nav>"
            f"<main>{main}</main></body></html>\n")
