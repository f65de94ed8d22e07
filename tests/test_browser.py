"""The web page in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Open the page, run a saved query through its form, see its rows, follow a link to an
author's page; run an ad-hoc query from the editor. The server runs on 127.0.0.1 port 0
over the seed store; the browser gets a fresh profile and talks to loopback only.

Skipped when chromium or the `playwright` package is missing, unless KG_REQUIRE_BROWSER=1
(as .ci/run sets it): then a missing browser is a failure. Playwright's own browser
downloads are never used: the system chromium is launched by path.
"""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest

from kg import server as kgserver

REQUIRED = os.environ.get("KG_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("KG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
WAIT_MS = 20_000  # every wait is bounded


def _missing() -> str | None:
    if CHROMIUM is None:
        return "no chromium on PATH (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright; no browser download needed)"
    return None


@pytest.fixture(scope="module")
def browser_page(seed_store_path, tmp_path_factory):
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"KG_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    srv = kgserver.make_server(seed_store_path, "127.0.0.1", 0, timeout=20, workers=2)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    profile = tmp_path_factory.mktemp("chromium-profile")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(profile), executable_path=CHROMIUM, headless=True, timeout=60_000,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--no-first-run", "--no-default-browser-check", "--disable-extensions"])
            try:
                context.set_default_timeout(WAIT_MS)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
                outside: list[str] = []
                page.on("request", lambda req: outside.append(req.url)
                        if not req.url.startswith(srv.url) else None)
                yield srv, page, errors, outside
            finally:
                context.close()
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)


def test_saved_query_form_then_an_authors_page(browser_page):
    srv, page, errors, outside = browser_page
    page.goto(srv.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    # the editor starts with the project's prefixes
    text = page.input_value("#query")
    assert "PREFIX schema: <http://schema.org/>" in text
    assert "PREFIX kg: <https://w3id.org/kg/ontology#>" in text

    saved = page.locator("#saved-authors-sharing-topics")
    saved.locator("summary").click()
    form = saved.locator("form")
    assert form.locator("input[name=min_shared]").input_value() == "1"  # the default is filled in
    form.locator("input[name=min_shared]").fill("2")
    form.locator("button[type=submit]").click()
    rows = saved.locator(".results table tbody tr")
    rows.nth(7).wait_for()
    assert rows.count() == 8
    assert saved.locator(".results .count").inner_text() == "8 rows"
    first = rows.nth(0).locator("td")
    assert [first.nth(i).inner_text() for i in range(3)] == ["George Karypis", "Samson Tan", "2"]

    # follow the link to an author: the person's page, with their papers
    with page.expect_navigation():
        rows.nth(0).locator("td").nth(1).get_by_role("link", name="Samson Tan").click()
    assert "/entity?iri=" in page.url and "person%2Fsamson-tan" in page.url
    assert page.locator("h1#label").inner_text() == "Samson Tan"
    assert page.locator("#kind").inner_text() == "person"
    papers = page.locator("table.in tr", has_text="schema:author").locator("a")
    titles = papers.all_inner_texts()
    assert "Extreme miscalibration and the illusion of adversarial robustness" in titles
    assert page.locator("#provenance li").first.inner_text().startswith("amazon-acl-2024-guide.txt:")

    # and on to one of those papers, which links back to its authors
    with page.expect_navigation():
        papers.filter(has_text="Extreme miscalibration").first.click()
    assert page.locator("#kind").inner_text() == "paper"
    assert page.get_by_role("link", name="George Karypis").count() >= 1
    assert not errors, errors
    assert not outside, f"the page asked for something beyond the server: {outside}"


def test_adhoc_query_from_the_editor(browser_page):
    srv, page, errors, outside = browser_page
    page.goto(srv.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    prefixes = page.input_value("#query").split("\n\n")[0]
    page.fill("#query", prefixes + "\nSELECT ?person ?name WHERE { ?person a schema:Person ; schema:name ?name "
                                   'FILTER(?name = "George Karypis") }')
    page.click("#run")
    rows = page.locator("#query-results table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1
    assert page.locator("#query-results thead th").all_inner_texts() == ["person", "name"]
    link = rows.first.locator("td").first.locator("a")
    assert link.inner_text() == "person/george-karypis"  # an IRI under the base links to its page
    with page.expect_navigation():
        link.click()
    assert page.locator("h1#label").inner_text() == "George Karypis"

    # a bad query shows the server's message, not a table
    page.goto(srv.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#query", "SELECT ?x WHERE { ?x ")
    page.click("#run")
    page.locator("#query-results .error").wait_for()
    assert "syntax error" in page.locator("#query-results .error").inner_text().lower()
    assert not [e for e in errors if "400" not in e], errors  # the console reports the 400 itself
    assert not outside, outside


def _ready(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")


def test_home_shows_counts_credits_and_suggests_as_you_type(browser_page):
    srv, page, errors, outside = browser_page
    errors.clear()  # an earlier test's expected 400
    _ready(page, srv.url + "/")
    assert page.locator("#counts li[data-count=papers] .number").inner_text() == "33"
    assert page.locator("#counts li[data-count=people] .number").inner_text() == "190"
    assert "amazon-acl-2024-guide.txt" in page.locator("#source-list").inner_text()
    # the Anthology's credit shows only where its metadata is in the store (the seed has none)
    assert page.locator("#anthology-credit").is_hidden()
    assert "CC BY 4.0 from 2016" in page.locator("#anthology-credit").text_content()
    assert page.locator("#top-topics li").count() >= 10
    page.screenshot(path="/tmp/pages-home.png")

    page.locator("#search-input").press_sequentially("karyp", delay=30)
    suggestion = page.locator("#search li[role=option]").first
    suggestion.wait_for()
    assert suggestion.get_attribute("data-kind") == "person"
    assert "George Karypis" in suggestion.inner_text()
    page.screenshot(path="/tmp/pages-search.png")
    page.locator("#search-input").press("ArrowDown")
    with page.expect_navigation():
        page.locator("#search-input").press("Enter")
    assert page.locator("h1#label").inner_text() == "George Karypis"
    assert not errors, errors
    assert not outside, outside


def test_person_page_papers_chart_and_network(browser_page):
    srv, page, errors, outside = browser_page
    errors.clear()  # an earlier test's expected 400
    _ready(page, srv.url + "/entity?kind=person&name=Samson%20Tan")
    assert page.locator("h1#label").inner_text() == "Samson Tan"
    rows = page.locator("#papers tbody tr")
    assert rows.count() == 3
    cells = [[rows.nth(i).locator("td").nth(j).inner_text() for j in range(3)] for i in range(3)]
    assert [c[0] for c in cells] == ["2024"] * 3  # newest year first, then by title
    assert cells == sorted(cells, key=lambda c: (-int(c[0]), c[1].lower()))
    positions = {c[1]: c[2] for c in cells}
    assert positions["Extreme miscalibration and the illusion of adversarial robustness"] == "2 of 6"
    assert positions["Learning to generate answers with citations via factual consistency models"] == "3 of 4"
    # one bar per year, with the count in its tooltip
    bars = page.locator("#chart svg rect.bar[data-year='2024']")
    assert bars.count() == 1 and "3 papers" in bars.first.locator("title").text_content()
    # the co-author network: Samson Tan at the centre, a node per co-author, each a link
    nodes = page.locator("#coauthors svg a.node")
    assert nodes.count() == 11
    assert page.locator("#coauthors svg a.node.centre text").text_content() == "Samson Tan"
    assert page.locator("#coauthors tbody tr").count() == 10
    assert "George Karypis" in page.locator("#coauthors svg").text_content()
    assert page.locator("#topics tbody tr").count() == 3
    page.screenshot(path="/tmp/pages-person.png", full_page=True)
    with page.expect_navigation():
        page.locator("#coauthors svg a.node", has_text="George Karypis").click()
    assert page.locator("h1#label").inner_text() == "George Karypis"
    assert not errors, errors
    assert not outside, outside


def test_paper_page_lists_authors_by_name_in_byline_order(browser_page):
    srv, page, errors, outside = browser_page
    errors.clear()  # an earlier test's expected 400
    _ready(page, srv.url + "/entity?kind=paper&name=Extreme%20miscalibration%20and%20the%20illusion%20of%20adversarial%20robustness")
    assert page.locator("#kind").inner_text() == "paper"
    assert page.locator("ol.byline li").all_inner_texts() == [
        "Vyas Raina", "Samson Tan", "Volkan Cevher", "Aditya Rawal", "Sheng Zha", "George Karypis"]
    assert "/author/" not in page.locator("main").inner_text()  # no bare byline-slot IRIs
    assert page.locator("#paper-topics a").all_inner_texts() == ["Model robustness"]
    page.screenshot(path="/tmp/pages-paper.png", full_page=True)
    assert not errors, errors
    assert not outside, outside


def test_results_sort_download_and_live_in_the_address(browser_page, tmp_path):
    srv, page, errors, outside = browser_page
    errors.clear()  # an earlier test's expected 400
    _ready(page, srv.url + "/")
    saved = page.locator("#saved-papers-by-author")
    saved.locator("summary").click()
    saved.locator("input[name=author]").fill("Samson Tan")
    saved.locator("button[type=submit]").click()
    rows = saved.locator(".results table tbody tr")
    rows.nth(2).wait_for()
    # the address now runs it: saved=NAME and the parameters
    assert page.url == srv.url + "/?saved=papers-by-author&author=Samson+Tan"

    def column(i):
        return [rows.nth(r).locator("td").nth(i).inner_text() for r in range(rows.count())]

    header = saved.locator("thead th").nth(1)  # position
    header.click()
    assert column(1) == ["2", "3", "4"] and header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert column(1) == ["4", "3", "2"] and header.get_attribute("aria-sort") == "descending"
    saved.locator("thead th").nth(0).click()  # title, as text
    assert column(0) == sorted(column(0), key=str.lower)
    page.screenshot(path="/tmp/pages-results.png")

    with page.expect_download() as info:
        saved.get_by_role("link", name="CSV").click()
    assert info.value.suggested_filename == "papers-by-author.csv"
    csv_text = (tmp_path / "r.csv")
    info.value.save_as(csv_text)
    lines = csv_text.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "title,position,printed,topics" and len(lines) == 4
    with page.expect_download() as info:
        saved.get_by_role("link", name="JSON").click()
    info.value.save_as(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["head"]["vars"] == ["title", "position", "printed", "topics"]
    assert len(data["results"]["bindings"]) == 3

    # a shared address runs the query again on load
    shared = page.url
    _ready(page, srv.url + "/")
    _ready(page, shared)
    assert page.locator("#saved-papers-by-author").get_attribute("open") is not None
    page.locator("#saved-papers-by-author .results table tbody tr").nth(2).wait_for()
    assert page.locator("#saved-papers-by-author input[name=author]").input_value() == "Samson Tan"

    # and so does the editor's
    prefixes = page.input_value("#query").split("\n\n")[0]
    page.fill("#query", prefixes + '\nSELECT ?name WHERE { ?p a schema:Person ; schema:name ?name FILTER(STRSTARTS(?name, "Samson")) }')
    page.click("#run")
    page.locator("#query-results table tbody tr").first.wait_for()
    assert "sparql=" in page.url
    shared = page.url
    _ready(page, srv.url + "/")
    _ready(page, shared)
    page.locator("#query-results table tbody tr").first.wait_for()
    assert page.locator("#query-results tbody td").all_inner_texts() == ["Samson Tan"]
    assert not errors, errors
    assert not outside, outside
