// The kg pages: the home page (what the graph holds, search as you type, saved queries, a
// SPARQL editor) and, on every page, sortable tables and the search box. No dependencies, no
// network beyond this server; every value is put into the page as text, never as markup.
"use strict";

(function () {
  let config = { prefixes: {}, base: "" };

  // saved-query columns whose literal values name an entity: link them by name
  const NAME_COLUMNS = [
    [/^(author|coauthor|person|name)\d*$/, "person"],
    [/^(title|paper)\d*$/, "paper"],
    [/^topics?\d*$/, "topic"],
    [/^role\d*$/, "role"],
  ];
  const SPLIT_COLUMNS = /^(topics|titles)$/; // "; "-separated lists of names
  const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function entityLink(iri, text) {
    return el("a", { href: "/entity?iri=" + encodeURIComponent(iri), class: "entity" }, text);
  }

  function nameLink(kind, name) {
    return el("a", { href: "/entity?kind=" + encodeURIComponent(kind) + "&name=" + encodeURIComponent(name),
      class: "entity" }, name);
  }

  function shortIri(iri) {
    if (config.base && iri.startsWith(config.base)) return iri.slice(config.base.length);
    for (const [prefix, ns] of Object.entries(config.prefixes)) {
      if (iri.startsWith(ns)) return prefix + ":" + iri.slice(ns.length);
    }
    return "<" + iri + ">";
  }

  // --- sortable tables: results, and the entity pages' tables -------------------------------

  function sortKey(td) {
    const marked = td.querySelector("[data-sort]");
    return (marked ? marked.dataset.sort : td.textContent).trim();
  }

  function compare(a, b) {
    if (NUMERIC.test(a) && NUMERIC.test(b)) return Number(a) - Number(b);
    if (a === "" || b === "") return a === "" ? 1 : -1; // empty cells last
    return a.localeCompare(b, undefined, { sensitivity: "base", numeric: true });
  }

  // Click a header to sort by its column, again to reverse; stable, so ties keep the order before.
  function makeSortable(table) {
    const heads = Array.from(table.querySelectorAll("thead th"));
    heads.forEach((th, column) => {
      th.classList.add("sort");
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent;
      const sort = () => {
        const descending = th.getAttribute("aria-sort") === "ascending";
        heads.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows).map((row, i) => [sortKey(row.cells[column] || el("td")), i, row]);
        rows.sort((x, y) => (descending ? compare(y[0], x[0]) : compare(x[0], y[0])) || x[1] - y[1]);
        body.append(...rows.map((r) => r[2]));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); } });
    });
  }

  // --- results -------------------------------------------------------------------------------

  function cell(term, column, linkNames) {
    const td = el("td");
    if (!term) return td;
    if (term.type === "uri") {
      if (config.base && term.value.startsWith(config.base)) td.append(entityLink(term.value, shortIri(term.value)));
      else td.append(el("span", { class: "iri", title: term.value }, shortIri(term.value)));
      return td;
    }
    if (term.type === "bnode") {
      td.append(el("span", { class: "bnode" }, "_:" + term.value));
      return td;
    }
    const kind = linkNames ? (NAME_COLUMNS.find(([re]) => re.test(column)) || [])[1] : undefined;
    if (kind && term.value) {
      const parts = SPLIT_COLUMNS.test(column) ? term.value.split("; ") : [term.value];
      parts.forEach((part, i) => {
        if (i) td.append("; ");
        td.append(nameLink(kind, part));
      });
    } else {
      td.append(el("span", { class: "literal" }, term.value));
    }
    return td;
  }

  function csvField(value) {
    return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
  }

  // RFC 4180, values as SPARQL's CSV results give them: IRIs and literals as plain text
  function toCsv(data) {
    const vars = data.head.vars;
    const lines = [vars.map(csvField).join(",")];
    for (const row of data.results.bindings) lines.push(vars.map((v) => csvField(row[v] ? row[v].value : "")).join(","));
    return lines.join("\r\n") + "\r\n";
  }

  function download(name, type, text, label) {
    const url = URL.createObjectURL(new Blob([text], { type: type }));
    return el("a", { href: url, download: name, class: "download button" }, label);
  }

  function renderResults(target, data, linkNames, fileName) {
    target.replaceChildren();
    if (typeof data.boolean === "boolean") {
      target.append(el("p", { class: "boolean" }, "Answer: " + data.boolean));
      return;
    }
    const vars = data.head.vars;
    const rows = data.results.bindings;
    const table = el("table", { class: "rows" });
    table.append(el("thead", {}, el("tr", {}, ...vars.map((v) => el("th", {}, v)))));
    const body = el("tbody");
    for (const row of rows) body.append(el("tr", {}, ...vars.map((v) => cell(row[v], v, linkNames))));
    table.append(body);
    makeSortable(table);
    const tools = el("p", { class: "tools" },
      el("span", { class: "count" }, rows.length + (rows.length === 1 ? " row" : " rows")), " ",
      download(fileName + ".csv", "text/csv", toCsv(data), "CSV"), " ",
      download(fileName + ".json", "application/sparql-results+json", JSON.stringify(data, null, 1), "JSON"), " ",
      el("a", { href: location.href, class: "share", title: "this page's address runs this query again" }, "link to this result"));
    target.append(tools, table);
  }

  async function answer(response, target, status, linkNames, fileName) {
    const type = (response.headers.get("Content-Type") || "").split(";")[0];
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try {
        const body = await response.json();
        message = body.error || message;
        if (body.suggestions && body.suggestions.length) message += " (did you mean " + body.suggestions.join(", ") + "?)";
      } catch (e) { /* not JSON: keep the status line */ }
      target.replaceChildren(el("p", { class: "error", role: "alert" }, message));
      status.textContent = "";
      return;
    }
    if (type.includes("json")) {
      const data = await response.json();
      renderResults(target, data, linkNames, fileName);
    } else {
      target.replaceChildren(el("pre", { class: "graph" }, await response.text()));
    }
    status.textContent = "done";
  }

  async function run(url, options, target, status, linkNames, fileName) {
    status.textContent = "running…";
    target.replaceChildren();
    try {
      await answer(await fetch(url, options), target, status, linkNames, fileName);
    } catch (e) {
      target.replaceChildren(el("p", { class: "error", role: "alert" }, "could not reach the server: " + e));
      status.textContent = "";
    }
  }

  // The address bar holds what ran (?saved=NAME&param=value, or ?sparql=TEXT): a shared or
  // reloaded link runs it again.
  function remember(params) {
    history.replaceState(null, "", "/?" + params.toString());
  }

  const ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9";

  function setUpEditor() {
    const query = document.getElementById("query");
    const lines = Object.entries(config.prefixes).map(([p, ns]) => "PREFIX " + p + ": <" + ns + ">");
    query.value = lines.join("\n") + "\n\nSELECT ?person ?name WHERE {\n  ?person a schema:Person ; schema:name ?name .\n}\nORDER BY ?name\nLIMIT 20\n";
    const form = document.getElementById("query-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      remember(new URLSearchParams({ sparql: query.value }));
      run("/sparql", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: ACCEPT },
        body: new URLSearchParams({ query: query.value }).toString(),
      }, document.getElementById("query-results"), document.getElementById("query-status"), false, "query");
    });
    return form;
  }

  function savedForm(q) {
    const results = el("div", { class: "results" });
    const status = el("span", { class: "status" });
    const form = el("form", { class: "saved-query", "data-query": q.name });
    const fields = el("div", { class: "params" });
    for (const p of q.params) {
      const id = "p-" + q.name + "-" + p.name;
      const input = el("input", { id: id, name: p.name, type: p.type === "integer" ? "number" : "text",
        placeholder: p.description || p.type, title: p.description || p.type });
      if (p.default !== null && p.default !== undefined) input.value = p.default;
      if (p.required && (p.default === null || p.default === undefined)) input.required = true;
      const label = el("label", { for: id }, p.name, input.required ? el("span", { class: "required", title: "required" }, "*") : null,
        el("span", { class: "type" }, " (" + p.type + ")"));
      fields.append(el("div", { class: "param" }, label, input));
    }
    form.append(fields, el("button", { type: "submit" }, "Run"), " ", status);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = new URLSearchParams();
      for (const p of q.params) {
        const value = form.elements[p.name].value.trim();
        if (value) params.set(p.name, value);
      }
      const qs = params.toString();
      const shared = new URLSearchParams({ saved: q.name });
      params.forEach((value, key) => shared.set(key, value));
      remember(shared);
      run("/queries/" + encodeURIComponent(q.name) + (qs ? "?" + qs : ""), { headers: { Accept: ACCEPT } },
        results, status, true, q.name);
    });
    return el("details", { class: "saved", id: "saved-" + q.name },
      el("summary", {}, el("code", {}, q.name), " — ", q.summary),
      q.description ? el("p", { class: "description" }, q.description) : null, form, results);
  }

  async function setUpSaved() {
    const list = document.getElementById("saved-list");
    try {
      const response = await fetch("/queries", { headers: { Accept: "application/json" } });
      const saved = await response.json();
      list.replaceChildren(...saved.map(savedForm));
    } catch (e) {
      list.replaceChildren(el("p", { class: "error" }, "could not load the saved queries: " + e));
    }
  }

  // Run what the address names, as if its form had been filled in and sent.
  function runFromAddress(editor) {
    const params = new URLSearchParams(location.search);
    const saved = params.get("saved");
    if (saved !== null) {
      const details = document.getElementById("saved-" + saved);
      if (!details) return;
      details.open = true;
      const form = details.querySelector("form");
      params.forEach((value, key) => { if (key !== "saved" && form.elements[key]) form.elements[key].value = value; });
      details.scrollIntoView();
      form.requestSubmit();
    } else if (params.get("sparql") !== null) {
      document.getElementById("query").value = params.get("sparql");
      document.getElementById("editor").scrollIntoView();
      editor.requestSubmit();
    }
  }

  // --- the home page's overview --------------------------------------------------------------

  const COUNTS = [ // what kg stats counts, and the saved query that lists it
    ["papers", "papers", null], ["people", "people", "authors"], ["authorships", "authorships", null],
    ["topics", "topics", "topics"], ["roles", "roles", "roles"], ["figures", "figures", "figures"],
    ["triples", "triples", null], ["graphs", "named graphs", null],
  ];

  async function setUpOverview() {
    const target = document.getElementById("counts");
    let data;
    try {
      data = await (await fetch("/api/overview", { headers: { Accept: "application/json" } })).json();
    } catch (e) {
      target.replaceChildren(el("p", { class: "error" }, "could not load the overview: " + e));
      return;
    }
    target.replaceChildren(...COUNTS.map(([key, label, saved]) => {
      const inner = [el("span", { class: "number" }, data.counts[key].toLocaleString("en")), el("span", { class: "label" }, label)];
      return el("li", { "data-count": key }, saved ? el("a", { href: "/?saved=" + saved, title: "list them" }, ...inner) : el("span", {}, ...inner));
    }));
    document.getElementById("source-list").replaceChildren(...data.sources.map((s) => el("li", {},
      el("code", {}, s.file), " ", s.title ? el("span", {}, s.title) : null,
      s.licence ? el("span", { class: "licence", title: "licence of this metadata" }, s.licence) : null)));
    document.getElementById("anthology-credit").hidden = !data.sources.some((s) => s.anthology);
    document.getElementById("top-topics").replaceChildren(...data.topics.map((t) =>
      el("li", {}, entityLink(t.iri, t.label), el("span", { class: "hint" }, " " + t.papers))));
    document.getElementById("top-people").replaceChildren(...data.people.map((p) =>
      el("li", {}, entityLink(p.iri, p.label), el("span", { class: "hint" }, " " + p.papers))));
  }

  // --- search as you type --------------------------------------------------------------------

  function setUpSearch(form) {
    const input = form.querySelector("input");
    const list = el("ul", { class: "suggestions", role: "listbox", id: "suggestions-" + Math.random().toString(36).slice(2) });
    list.hidden = true;
    form.append(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    let asked = 0;
    let timer = null;
    let active = -1;

    const items = () => Array.from(list.querySelectorAll("a"));
    const show = (on) => { list.hidden = !on; input.setAttribute("aria-expanded", String(on)); };
    const highlight = (i) => {
      const links = items();
      active = links.length ? (i + links.length) % links.length : -1;
      links.forEach((a, j) => a.parentNode.setAttribute("aria-selected", String(j === active)));
    };

    async function ask() {
      const text = input.value.trim();
      const mine = ++asked;
      if (text.length < 2) { show(false); return; }
      let found = [];
      try {
        found = await (await fetch("/api/suggest?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })).json();
      } catch (e) { return; }
      if (mine !== asked) return; // a later keystroke's answer wins
      active = -1;
      list.replaceChildren(...found.map((s) => el("li", { role: "option", "data-kind": s.kind },
        el("a", { href: s.href }, el("span", { class: "kind" }, s.kind), " ", s.label,
          s.papers ? el("span", { class: "hint" }, " · " + s.papers + (s.papers === 1 ? " paper" : " papers")) : null))));
      if (!found.length) list.append(el("li", { class: "none" }, "nothing matches; Enter looks the name up"));
      show(true);
    }

    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 120); });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) return;
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Escape") {
        show(false);
      }
    });
    form.addEventListener("submit", (event) => {
      const links = items();
      const chosen = links[active] || (links.length === 1 ? links[0] : null);
      if (chosen) { event.preventDefault(); location.href = chosen.href; }
      // otherwise the form asks /entity?name=: the page found, or a 404 with suggestions
    });
    document.addEventListener("click", (event) => { if (!form.contains(event.target)) show(false); });
  }

  async function start() {
    document.querySelectorAll("form.search").forEach(setUpSearch);
    document.querySelectorAll("table.sortable, table.facts").forEach(makeSortable);
    if (!document.getElementById("query")) { // an entity page
      document.body.dataset.ready = "true";
      return;
    }
    try {
      config = await (await fetch("/api/config", { headers: { Accept: "application/json" } })).json();
    } catch (e) { /* keep the defaults: no prefixes */ }
    const editor = setUpEditor();
    await Promise.all([setUpSaved(), setUpOverview()]);
    runFromAddress(editor);
    document.body.dataset.ready = "true";
  }

  start();
})();
