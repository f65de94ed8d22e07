"""The web page in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Open the page, run a saved query through its form, see its rows, follow a link to an
author's page; run an ad-hoc query from the editor. The server runs on 127.0.0.1 port 0
over the seed store; the browser gets a fresh profile and talks to loopback only.

Skipped when chromium or the `playwright` package is missing, unless KG_REQUIRE_BROWSER=1
(as .ci/run sets it): then a missing browser is a failure. Playwright's own browser
downloads are never used: the system chromium is launched by path.
"""

from __future__ import annotations

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
