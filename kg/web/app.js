// The kg page: a SPARQL editor and the saved queries as forms. No dependencies, no network
// beyond this server; every value is put into the page as text, never as markup.
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

  function renderResults(target, data, linkNames) {
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
    target.append(el("p", { class: "count" }, rows.length + (rows.length === 1 ? " row" : " rows")), table);
  }

  async function answer(response, target, status, linkNames) {
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
      renderResults(target, data, linkNames);
    } else {
      target.replaceChildren(el("pre", { class: "graph" }, await response.text()));
    }
    status.textContent = "done";
  }

  async function run(url, options, target, status, linkNames) {
    status.textContent = "running…";
    target.replaceChildren();
    try {
      await answer(await fetch(url, options), target, status, linkNames);
    } catch (e) {
      target.replaceChildren(el("p", { class: "error", role: "alert" }, "could not reach the server: " + e));
      status.textContent = "";
    }
  }

  const ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9";

  function setUpEditor() {
    const query = document.getElementById("query");
    const lines = Object.entries(config.prefixes).map(([p, ns]) => "PREFIX " + p + ": <" + ns + ">");
    query.value = lines.join("\n") + "\n\nSELECT ?person ?name WHERE {\n  ?person a schema:Person ; schema:name ?name .\n}\nORDER BY ?name\nLIMIT 20\n";
    document.getElementById("query-form").addEventListener("submit", (event) => {
      event.preventDefault();
      run("/sparql", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: ACCEPT },
        body: new URLSearchParams({ query: query.value }).toString(),
      }, document.getElementById("query-results"), document.getElementById("query-status"), false);
    });
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
      run("/queries/" + encodeURIComponent(q.name) + (qs ? "?" + qs : ""), { headers: { Accept: ACCEPT } },
        results, status, true);
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

  async function start() {
    try {
      config = await (await fetch("/api/config", { headers: { Accept: "application/json" } })).json();
    } catch (e) { /* keep the defaults: no prefixes */ }
    setUpEditor();
    await setUpSaved();
    document.body.dataset.ready = "true";
  }

  start();
})();
