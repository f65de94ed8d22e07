"""The `kg` command line: click commands over the library, nothing else.

Exit codes: 0 ok, 1 SHACL violations, 2 could not run (one line on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import ClassVar

import click

from kg import export
from kg import store as stores
from kg.errors import KGError

# The library is imported inside each command, not here: `kg --help` and shell
# completion then start without rdflib, pyshacl and networkx (issue 15).

RESULT_FORMATS = click.Choice(["table", "json", "csv", "tsv"])


class KGGroup(click.Group):
    """Turns every KGError into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KGError as exc:
            # one line, whatever the message holds (a parser's error spans several)
            click.echo(f"kg: error: {' '.join(str(exc).split())}", err=True)
            ctx.exit(2)


def _store_option(f):
    return click.option("--store", "store", envvar="KG_STORE", default=None, metavar="PATH|URL",
                        help="Store directory, or a SPARQL server URL (see README, Remote stores) "
                             "(env KG_STORE; default .kg in the current directory).")(f)


def _no_wait_option(f):
    return click.option("--no-wait", is_flag=True,
                        help="If another process is writing the store, exit 2 naming it instead of "
                             "waiting for it.")(f)


def _say_waiting(message: str) -> None:
    click.echo(f"kg: {message}", err=True)


def _format_option(f):
    return click.option("--format", "fmt", type=RESULT_FORMATS, default="table", show_default=True,
                        help="table for people; json is the SPARQL 1.1 Query Results JSON format.")(f)


@click.group(cls=KGGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kg")
def main() -> None:
    """Build a validated RDF knowledge graph of scholarly papers and answer questions about it."""


class ProgressBars:
    """A progress bar per build stage on stderr: only on a terminal, so piped output
    and logs stay clean (click draws nothing when the stream is not a TTY)."""

    UNITS: ClassVar[dict[str, str]] = {"reading": "files", "validating": "focus nodes"}

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.stage: str | None = None
        self.bar = None
        self.done = 0

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            label = f"kg: {stage} ({total:,} {self.UNITS.get(stage, 'items')})"
            self.bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr,
                                         show_pos=True, width=30)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def note(self, message: str) -> None:
        """A stage starts: end the bar of the last one, say which."""
        if self.enabled:
            self.close()
            click.echo(f"kg: {message}…", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@main.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--add", is_flag=True, help="Extend the existing store instead of replacing it.")
@click.option("--curation", type=click.Path(path_type=Path), envvar="KG_CURATION", default=None,
              help="YAML file pinning or merging person identities (env KG_CURATION).")
@click.option("--review", "review_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Reconciliation review file (default reconcile-review.yaml beside the store).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.85, show_default=True,
              help="Guide-Anthology links below this confidence go to the review file.")
@click.option("--name-variants", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The Anthology's name_variants.yaml (default: beside the collections, "
                   "in ../yaml/, else the bundled copy).")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Also write the new store's export to FILE (as `kg export -o FILE` "
                                   "would, but while validating); left as it was if the build fails.")
@click.option("--export-format", type=click.Choice(list(export.FORMATS)), default="turtle",
              show_default=True, help="Format of the --export file.")
@click.option("--timings", is_flag=True, help="Print the seconds each stage took (on stderr).")
@click.option("--quiet", "-q", is_flag=True, help="Print no warnings or progress.")
@_no_wait_option
@_store_option
def build(sources: tuple[Path, ...], add: bool, curation: Path | None, review_file: Path | None,
          threshold: float, name_variants: Path | None, export_path: Path | None, export_format: str,
          timings: bool, quiet: bool, no_wait: bool, store: str | None) -> None:
    """Build the store from SOURCES (default: the bundled guide and Anthology files), validating first.

    SOURCES are guide text files, Turtle / N-Triples files, and ACL Anthology
    collection files (.xml, .xml.gz) or folders of them. A fresh store replaces the
    old one atomically; with --add the sources are added to it (a source already in
    the store is replaced). Violations: exit 1, store untouched.
    """
    from kg import facts, pipeline
    from kg.resolve import load_curation

    paths = list(sources) or pipeline.bundled_sources()
    if not paths:
        raise KGError("no source given and no bundled guide found in data/; pass a guide file")
    target = stores.store_path(store)
    # stage notes and bars only on a terminal: piped output stays clean for scripts
    interactive = not quiet and sys.stderr.isatty()
    with ProgressBars(enabled=interactive) as bars:
        result = pipeline.build(paths, store=target, add=add, curation=load_curation(curation),
                                on_stage=bars.note, review=review_file, threshold=threshold,
                                name_variants=name_variants, progress=bars.update,
                                export=(export_format, export_path) if export_path else None,
                                wait=not no_wait, on_wait=_say_waiting)
    if timings:
        click.echo("kg: seconds per stage: " + ", ".join(
            f"{stage} {seconds:.2f}" for stage, seconds in result.timings.items()), err=True)
    if not quiet:
        for issue in result.issues:
            click.echo(str(issue), err=True)
    if not result.written:
        click.echo(result.report.format())
        click.echo("kg: validation failed; the store was left as it was.", err=True)
        sys.exit(1)
    if not quiet:
        counts = facts.stats(stores.open_store(target))
        click.echo(f"Built {target}: {counts['papers']} papers, {counts['people']} people, "
                   f"{counts['topics']} topics, {counts['roles']} roles, {counts['triples']} triples "
                   f"({len(result.issues)} warning(s)).")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@_store_option
def validate(files: tuple[Path, ...], store: str | None) -> None:
    """SHACL-validate the store, or the given Turtle / N-Triples / N-Quads files.

    Prints a report grouped by shape; exit 1 on violations.
    """
    from kg import pipeline
    from kg.validate import validate_files

    report = validate_files(files) if files else pipeline.validate_live(store)
    click.echo(report.format())
    if not report.conforms:
        sys.exit(1)


@main.command(name="queries")
@_format_option
def list_queries(fmt: str) -> None:
    """List the saved queries: name, summary and parameters."""
    from kg import queries, render

    rows = []
    for q in queries.saved_queries().values():
        params = ", ".join(f"{p.name}:{'|'.join(p.values) if p.values else p.type}"
                           + (f"={p.default}" if p.default is not None else "")
                           for p in q.params)
        rows.append([q.name, q.summary, params])
    if fmt == "json":
        click.echo(json.dumps([{"name": q.name, "summary": q.summary, "description": q.description,
                                "params": [p.__dict__ for p in q.params]}
                               for q in queries.saved_queries().values()], indent=1))
    elif fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        click.echo("\n".join(sep.join(f'"{c}"' if sep in c else c for c in r) for r in [["name", "summary", "params"], *rows]))
    else:
        click.echo(render.table(["name", "summary", "parameters"], rows, width=80))


def _complete_query_name(_ctx, _param, incomplete: str) -> list:
    """Shell completion of `kg query NAME`: the saved queries, with their summaries."""
    from click.shell_completion import CompletionItem

    from kg.queries import saved_queries

    return [CompletionItem(name, help=q.summary) for name, q in saved_queries().items()
            if name.startswith(incomplete)]


def _complete_param(ctx, _param, incomplete: str) -> list:
    """Shell completion of `-p KEY`: the parameters of the query named before it."""
    from kg.errors import QueryError
    from kg.queries import get_query

    # the query's name: parsed, or left over (completion parses what it can, and the
    # incomplete `-p` before the cursor stops it before NAME)
    name = ctx.params.get("name") or next(iter(ctx.args), "")
    try:
        query = get_query(name)
    except QueryError:
        return []
    return [p.name for p in query.params if p.name.startswith(incomplete)]


@main.command()
@click.argument("name", shell_complete=_complete_query_name)
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="KEY VALUE",
              shell_complete=_complete_param,
              help="A parameter value (repeatable).")
@_format_option
@_store_option
def query(name: str, params: tuple[tuple[str, str], ...], fmt: str, store: str | None) -> None:
    """Run the saved query NAME (see `kg queries`)."""
    from kg import queries, render

    db = stores.open_store(store)
    click.echo(render.format_result(queries.run_saved(db, name, dict(params)), fmt))


@main.command()
@click.argument("text", required=False)
@click.option("-f", "--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the query from a file.")
@click.option("--allow-service", is_flag=True,
              help="Let SERVICE clauses send requests to other servers (refused otherwise).")
@_format_option
@_store_option
def sparql(text: str | None, file: Path | None, allow_service: bool, fmt: str, store: str | None) -> None:
    """Run an ad-hoc read-only SPARQL query (updates and SERVICE are refused, exit 2).

    The default graph is the merge of the sources, one node per real paper and person;
    GRAPH, FROM and FROM NAMED reach each source's own graph.
    """
    from kg import queries, render

    if (text is None) == (file is None):
        raise KGError("give a query as an argument or with -f FILE (one of the two)")
    try:
        source = file.read_text(encoding="utf-8") if file else text
    except UnicodeDecodeError as exc:
        raise KGError(f"{file}: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not UTF-8; "
                      "save the query as UTF-8") from None
    db = stores.open_store(store)
    click.echo(render.format_result(queries.run_sparql(db, source, allow_service=allow_service), fmt))


@main.command(name="export")
@click.option("-f", "--format", "fmt", type=click.Choice(list(export.FORMATS)), default="turtle",
              show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="File to write (atomically); default standard output.")
@_store_option
def export_cmd(fmt: str, output: Path | None, store: str | None) -> None:
    """Export the store: turtle | ntriples | nquads | trig | jsonld, deterministic bytes."""
    live = stores.open_store(store)
    if output is None:
        export.export_to(live, fmt, sys.stdout.buffer)
        sys.stdout.flush()
    else:  # streamed into a temporary file, renamed into place when complete
        export.export_file(live, fmt, output)


@main.command()
@_format_option
@_store_option
def stats(fmt: str, store: str | None) -> None:
    """Counts of papers, people, topics, roles, postings, triples and graphs."""
    from kg import facts, render

    counts = facts.stats(stores.open_store(store))
    if fmt == "json":
        click.echo(json.dumps(counts, indent=1))
    else:
        sep = {"csv": ",", "tsv": "\t"}.get(fmt)
        if sep:
            click.echo("\n".join([f"what{sep}count"] + [f"{k}{sep}{v}" for k, v in counts.items()]))
        else:
            click.echo(render.table(["what", "count"], [[k, str(v)] for k, v in counts.items()]))


@main.command()
@click.argument("text")
@click.option("--pick", type=click.IntRange(min=1), default=None, metavar="N",
              help="When TEXT names several entities: the one numbered N in their list.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_store_option
def show(text: str, pick: int | None, fmt: str, store: str | None) -> None:
    """Everything known about a person, paper, topic or role named TEXT, or about an IRI.

    A name several entities share lists them on standard output, numbered, each with
    what tells it apart and its IRI, and exits 2: give --pick N or the IRI.
    """
    from kg import facts
    from kg.errors import AmbiguousNameError

    db = stores.open_store(store)
    try:
        entity = facts.describe(db, text, pick)
    except AmbiguousNameError as exc:
        found = facts.candidates(db, exc.candidates)
        if fmt == "json":
            click.echo(json.dumps({"name": text, "candidates": [c.__dict__ for c in found]},
                                  indent=1, ensure_ascii=False))
        else:
            for c in found:
                click.echo(f"{c.number}. {c.label}  ({c.kind})  {c.iri}" + (f"\n   {c.detail}" if c.detail else ""))
        raise KGError(f"{text!r} names {len(found)} {exc.what} (listed on standard output); choose one with "
                      f"--pick N (1-{len(found)}) or give its IRI") from None
    if fmt == "json":
        click.echo(json.dumps(entity.as_json(), indent=1, ensure_ascii=False))
        return
    click.echo(f"{entity.label}  ({entity.kind})\n<{entity.iri}>\n")
    for fact in entity.facts:
        arrow = "" if fact.direction == "out" else "← "
        click.echo(f"  {arrow}{fact.predicate:28} {fact.value}")
    if entity.sources:
        click.echo("\nfrom: " + ", ".join(entity.sources))


@main.command()
@click.argument("kind", type=click.Choice(["coauthors", "topics"]))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="FILE.graphml")
@_store_option
def graph(kind: str, output: Path, store: str | None) -> None:
    """Write the co-author network or the author-topic network as GraphML."""
    from kg import analysis

    db = stores.open_store(store)
    g = analysis.coauthor_graph(db) if kind == "coauthors" else analysis.topic_graph(db)
    analysis.write_graphml(g, output)
    click.echo(f"Wrote {output}: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges.")


@main.command()
@click.option("--host", default=None, metavar="HOST",
              help="Interface to listen on (default 127.0.0.1; a non-loopback host must be given here).")
@click.option("--port", default=7878, show_default=True, type=click.IntRange(0, 65535))
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds a query may run; it is then stopped and answered 503.")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="Largest answer (rows or triples); a larger one is an error (422), never cut short.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Query worker processes, i.e. queries run at once (default: CPUs, at most 4).")
@click.option("--max-memory", default="2G", show_default=True, metavar="SIZE",
              help="Memory a query worker may hold (e.g. 512M, 2G); past it the query is stopped "
                   "and answered 503.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also answer requests whose Host header is NAME (repeatable); by default only "
                   "loopback names and --host are answered.")
@click.option("--cors", metavar="ORIGIN", default=None,
              help="Let web pages from ORIGIN (such as https://yasgui.example, or *) read the answers "
                   "(CORS); off by default.")
@_store_option
def serve(host: str | None, port: int, timeout: float, max_rows: int, workers: int | None,
          max_memory: str, allow_hosts: tuple[str, ...], cors: str | None, store: str | None) -> None:
    """Serve the store read-only: SPARQL 1.1 Protocol at /sparql, saved queries at /queries.

    Updates, LOAD and SERVICE are refused; each query runs in a worker process that is
    killed at --timeout. One line per request is logged to stderr; Ctrl-C stops.
    """
    from kg import server

    def ready(srv: server.KGServer) -> None:
        if host is not None and not server.is_loopback(host):
            click.echo(f"kg: warning: listening on {host}: anyone who can reach it can query the store",
                       err=True)
        if stores.is_url(stores.store_path(store)):
            click.echo("kg: warning: query workers keep the network to reach the store's server; "
                       "SERVICE is refused by the query check all the same", err=True)
        elif srv.pool.network_isolated() is False:
            click.echo("kg: warning: query workers could not leave the network here (no user "
                       "namespaces); SERVICE is refused by the query check all the same", err=True)
        click.echo(f"kg: serving {stores.store_path(store)} at {srv.url}/sparql and {srv.url}/queries "
                   "(Ctrl-C stops)", err=True)

    server.serve(stores.store_path(store), host or server.DEFAULT_HOST, port, on_ready=ready,
                 timeout=timeout, max_rows=max_rows, workers=workers, public=host is not None,
                 log=sys.stderr, max_memory=_size(max_memory), allow_hosts=allow_hosts,
                 cors=cors)


def _size(text: str) -> int:
    """Bytes from a size such as 512M or 2G (K, M, G, T; plain digits are bytes)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    number, unit = text.strip().upper().rstrip("B"), ""
    if number and number[-1] in units:
        number, unit = number[:-1], number[-1]
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size; write e.g. 512M or 2G") from None
    if value < 1 << 20:
        raise click.BadParameter(f"{text!r} is under 1 MB; a worker needs more to open the store")
    return int(value)


@main.command()
@click.option("--store", "store", envvar="KG_STORE", required=True, metavar="URL",
              help="The server to load into (env KG_STORE; credentials from KG_STORE_USER / "
                   "KG_STORE_PASSWORD).")
@click.option("--from", "source", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help="The embedded store to push (default .kg in the current directory).")
@click.option("--chunk", default=50_000, show_default=True, type=click.IntRange(min=1),
              help="Triples per upload request.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@_no_wait_option
def push(store: str, source: Path | None, chunk: int, quiet: bool, no_wait: bool) -> None:
    """Load an embedded store into a SPARQL server, graph by graph, replacing kg's graphs there.

    Each graph is uploaded in chunks to a temporary graph and swapped in with one
    update; running it again changes nothing.
    """
    from kg.store import remote

    if not stores.is_url(store):
        raise KGError(f"--store {store}: push needs a server URL (http://...)")
    origin = stores.store_path(str(source) if source else stores.DEFAULT_STORE)
    if stores.is_url(origin):
        raise KGError("--from must be a store directory, not a URL")
    with stores.writer_lock(store, wait=not no_wait, on_wait=_say_waiting):
        counts = remote.push(stores.open_store(origin), store, chunk=chunk)
    if not quiet:
        click.echo(f"Pushed {origin} to {store}: {len(counts)} graph(s), "
                   f"{sum(counts.values())} triples.")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="table with a summary; json with candidates, people and "
                                      "discrepancies; csv one row per guide paper.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.85, show_default=True,
              help="Links below this confidence go to review.")
@click.option("--review", "review_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The review file (default reconcile-review.yaml beside the store).")
@click.option("--guide", "guides", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read this guide instead of the store's guide papers (repeatable).")
@click.option("--anthology", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Read these Anthology collection files or directories instead of the "
                   "store's Anthology papers (repeatable).")
@click.option("--name-variants", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The Anthology's name_variants.yaml (default: yaml/ beside "
                                 "the --anthology xml/ directory, if there).")
@click.option("--curation", type=click.Path(path_type=Path), envvar="KG_CURATION", default=None,
              help="With --guide: the curation file the build used (env KG_CURATION).")
@click.option("--no-write", is_flag=True, help="Report only; leave the review file as it is.")
@_no_wait_option
@_store_option
def reconcile(fmt: str, threshold: float, review_file: Path | None, guides: tuple[Path, ...],
              anthology: tuple[Path, ...], name_variants: Path | None, curation: Path | None,
              no_write: bool, no_wait: bool, store: str | None) -> None:
    """Link guide papers to the ACL Anthology and report every disagreement.

    Prints each guide paper's link with its status (auto, review, accepted, rejected,
    unmatched), confidence and evidence, then a summary. Links below --threshold are
    written to the review file, where a curator sets accept, reject or another
    Anthology ID; later runs and builds honour it. The store is not changed.
    """
    from kg import pipeline, render
    from kg.resolve import load_curation

    result, review_path, entries = pipeline.reconcile_live(
        store, guides=guides, anthology=anthology, name_variants=name_variants,
        curation=load_curation(curation) if guides else None, threshold=threshold,
        review_file=review_file, write=not no_write, wait=not no_wait, on_wait=_say_waiting)
    click.echo(render.format_report(result, fmt))
    if fmt == "csv":
        for line in render.summary_lines(result):
            click.echo(f"kg: {line}", err=True)
    if entries is not None:
        click.echo(f"kg: {entries} entr{'y' if entries == 1 else 'ies'} in the review file "
                   f"{review_path}", err=True)

if __name__ == "__main__":  # pragma: no cover
    main()
