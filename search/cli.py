"""The ``news-search`` command: a thin layer over the library.

Every command is one library call plus argument parsing and output; library errors become a
one-line ``Error: ...`` and a non-zero exit.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click

from . import remote, timeline
from .cluster import ADDRESS_ENV, check_cluster, cluster_address
from .errors import SearchError
from .evaluate import evaluate, read_qrels, read_queries
from .generations import DEFAULT_INDEX, LOCK_TIMEOUT, current_generation
from .indexer import MAX_SHARDS
from .indexer import rebuild as rebuild_index
from .searcher import MAX_PER_PAGE, SORTS, NewsIndex
from .sources import parse_field_options
from .timelimit import TIME_LIMIT
from .updater import UpdateSummary
from .updater import update as update_index

DEFAULT_SOURCES = ("seeds",)


def _index_option(function):
    return click.option(
        "--index",
        "index_dir",
        default=DEFAULT_INDEX,
        envvar="NEWS_SEARCH_INDEX",
        show_default=True,
        show_envvar=True,
        type=click.Path(file_okay=False),
        help="Index directory.",
    )(function)


def _sources_option(help: str):
    """``--source``, repeatable, as the list ``sources``."""
    return click.option("--source", "sources", multiple=True, type=click.Path(), help=help)


def _reading_options(function):
    """The options of the commands that read sources (rebuild, update)."""
    for option in reversed(
        [
            click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
            click.option("--strict", is_flag=True, help="Stop at the first unreadable file, exit non-zero."),
            click.option("--silent", is_flag=True, help="No progress bar."),
            click.option(
                "--field",
                "field_options",
                multiple=True,
                metavar="FIELD=NAME[,NAME]",
                help="Read an article field from differently named record fields, e.g. body=maintext (repeatable).",
            ),
            click.option(
                "--follow-links",
                is_flag=True,
                help="Complete a feed entry that has only a summary from its article page.",
            ),
        ]
    ):
        function = option(function)
    return function


class _OneLineErrors(click.Group):
    """The top command group: a :class:`SearchError` raised anywhere in a command ends as the
    one-line ``Error: ...`` and exit status 1 of a :class:`click.ClickException`."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SearchError as error:
            raise click.ClickException(str(error)) from None


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fields(field_options) -> dict[str, tuple[str, ...]]:
    """The ``--field`` options as :func:`parse_field_options` reads them, or a usage error."""
    try:
        return parse_field_options(field_options)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--field") from None


@contextmanager
def _progress(silent: bool, label: str, counted: str = ""):
    """A progress callback for the library (``on_progress(done, total, count)``) that draws a bar on
    stderr, labelled ``label``, or ``label (count counted)`` when ``counted`` names what is counted;
    the bar is closed on leaving. ``None`` when ``silent`` or when stderr is not a terminal."""
    if silent or not sys.stderr.isatty():
        yield None
        return
    bar = None

    def progress(done, total, count):
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            bar.__enter__()
        if counted:
            bar.label = f"{label} ({count} {counted})"
        bar.update(done - bar.pos)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _indexed(summary) -> str:
    return f"Indexed {summary.indexed} articles from {summary.files} files in {summary.seconds:.1f} s"


def _echo_summary(summary, as_json: bool) -> None:
    """What a rebuild or an update did: its summary as JSON, or one line, then each file or record
    it skipped and the counts per reason (on stderr)."""
    if as_json:
        _echo_json(summary.to_dict())
        return
    counts = f"({summary.duplicates} duplicates, {len(summary.skipped)} skipped)"
    if isinstance(summary, UpdateSummary):
        what = "Built" if summary.rebuilt else "Updated" if summary.changed else "Up to date"
        click.echo(
            f"{what}: {summary.added} added, {summary.replaced} replaced, {summary.removed} removed,"
            f" {summary.unchanged} unchanged {counts} from {summary.files} files in {summary.seconds:.1f} s;"
            f" {summary.documents} articles -> {summary.index_dir}"
        )
    else:
        click.echo(f"{_indexed(summary)} {counts} -> {summary.index_dir}")
    for skipped in summary.skipped:
        where = f"{skipped.path}:{skipped.line}" if skipped.line else skipped.path
        click.echo(f"  skipped {where}: {skipped.reason}", err=True)
    if summary.reasons:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(summary.reasons.items()))
        click.echo(f"  skipped by reason: {reasons}", err=True)


def _cluster_option(help_text: str, required: bool = False):
    return click.option(
        "--cluster", metavar="HOST:PORT", envvar=ADDRESS_ENV, show_envvar=True, required=required, help=help_text
    )


#: ``--cluster`` of the commands that search.
_search_cluster_option = _cluster_option(
    "Search the shards in actors of this Ray cluster, one per shard and replica (needs the cluster"
    " extra; the index directory must be at the same path on every node)."
)
_replicas_option = click.option(
    "--replicas",
    default=1,
    show_default=True,
    type=click.IntRange(1, remote.MAX_REPLICAS),
    help="With --cluster: actors serving each shard (Ray spreads them over the nodes).",
)


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="news-search")
def cli():
    """Full-text search over Chinese regional news."""


@cli.group()
def index():
    """Build and maintain the index."""


@index.command("rebuild")
@_sources_option(
    "A source (repeatable): a file or folder, a database TOML file, a feed URL. Default: seeds/."
)
@_index_option
@_reading_options
@click.option(
    "--shards",
    default=1,
    show_default=True,
    type=click.IntRange(1, MAX_SHARDS),
    help="Split the index into this many shards, searched in parallel and ranked as one index.",
)
@_cluster_option(
    "Analyse and merge on this Ray cluster instead of this machine's cores (needs the cluster"
    " extra; the index directory must be a path every node reaches)."
)
def index_rebuild(sources, index_dir, as_json, strict, silent, field_options, follow_links, shards, cluster):
    """Rebuild the index from source files, then swap it in atomically.

    The index being served stays in place until the new one is complete.
    """
    fields = _fields(field_options)
    summary = _rebuild(
        list(sources) or list(DEFAULT_SOURCES),
        index_dir,
        strict,
        silent or as_json,
        fields,
        follow_links,
        shards,
        cluster,
    )
    _echo_summary(summary, as_json)


def _rebuild(sources, index_dir, strict, silent, fields=None, follow_links=False, shards=1, cluster=None):
    """Rebuild, with a progress bar unless ``silent``."""
    with _progress(silent, "Indexing", counted="articles") as progress:
        return rebuild_index(
            sources,
            index_dir,
            strict=strict,
            on_progress=progress,
            fields=fields,
            follow_links=follow_links,
            shards=shards,
            cluster=cluster_address(cluster),
        )


@index.command("update")
@_sources_option("A source file or folder (repeatable). Default: the sources the index was built from.")
@_index_option
@click.option("--prune", is_flag=True, help="Also remove articles whose source file or record is gone.")
@_reading_options
@click.option(
    "--wait",
    "lock_timeout",
    default=LOCK_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0),
    metavar="SECONDS",
    help="How long to wait for another rebuild or update of this index before giving up.",
)
def index_update(sources, index_dir, prune, as_json, strict, silent, field_options, follow_links, lock_timeout):
    """Add new articles, replace changed ones and, with --prune, remove those whose source is gone.

    Only what changed is written; readers see the whole update at once, never half of it.
    """
    fields = _fields(field_options)
    with _progress(silent or as_json, "Reading") as progress:
        summary = update_index(
            list(sources) or None,
            index_dir,
            prune=prune,
            strict=strict,
            on_progress=progress,
            lock_timeout=lock_timeout,
            fields=fields,
            follow_links=follow_links,
        )
    _echo_summary(summary, as_json)


# A query may start with "-" (-重庆 leaves 重庆 out; -0 is a number): an unknown option is the query.
@cli.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("query")
@_index_option
@click.option(
    "--limit", "per_page", default=10, show_default=True, type=click.IntRange(1, MAX_PER_PAGE), help="Hits per page."
)
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page number.")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--from", "date_from", metavar="DATE", help="Earliest publication date, YYYY-MM-DD.")
@click.option("--to", "date_to", metavar="DATE", help="Latest publication date, YYYY-MM-DD.")
@click.option("--source", help="Only articles from this source.")
@click.option("--region", help="Only articles about this region (万州区, or 万州; a province includes its cities).")
@click.option("--no-collapse", is_flag=True, help="List every copy of a republished story, not one hit per story.")
@click.option("--timeline", "show_timeline", is_flag=True, help="Also draw matching articles per month (or year).")
@click.option("--as-typed", is_flag=True, help="Search Latin letters as typed, never read as pinyin.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--time-limit",
    default=TIME_LIMIT,
    show_default=True,
    type=click.FloatRange(0),
    metavar="SECONDS",
    envvar="NEWS_SEARCH_TIME_LIMIT",
    help="Stop a search that runs longer and show what it found (0: no limit).",
)
@_search_cluster_option
@_replicas_option
def search_command(
    query,
    index_dir,
    per_page,
    page,
    sort,
    date_from,
    date_to,
    source,
    region,
    no_collapse,
    show_timeline,
    as_typed,
    as_json,
    time_limit,
    cluster,
    replicas,
):
    """Search the index for QUERY (words, "phrases", AND/OR/NOT, -word, title:...)."""
    news = NewsIndex.open(index_dir, time_limit=time_limit or None, cluster=cluster_address(cluster), replicas=replicas)
    result = news.search(
        query,
        page=page,
        per_page=per_page,
        sort=sort,
        date_from=date_from,
        date_to=date_to,
        source=source,
        facets=as_json or show_timeline,
        region=region,
        collapse=not no_collapse,
        as_typed=as_typed,
    )
    chart = timeline.build(result.facets.get("month", ()), date_from, date_to) if show_timeline else None
    if as_json:
        data = result.to_dict()
        if show_timeline:
            data["timeline"] = chart.to_dict() if chart is not None else None
        _echo_json(data)
        return
    first = (result.page - 1) * result.per_page + 1
    click.echo(f"{result.total} results ({result.took_ms:.0f} ms)")
    if result.missing_shards:
        missing = ", ".join(map(str, result.missing_shards))
        click.echo(f"Shards {missing} did not answer: these are the results of the others.", err=True)
    elif result.partial:
        click.echo("The search ran out of time: these are the results found so far.", err=True)
    if result.searched_as:
        click.echo(f"Searched as: {result.searched_as} (--as-typed searches {result.query} as typed)")
    if result.did_you_mean:
        click.echo(f"Did you mean: {result.did_you_mean}")
    for rank, hit in enumerate(result.hits, first):
        _echo_hit(rank, hit)
    if show_timeline:
        _echo_timeline(chart)


def _echo_hit(rank: int, hit) -> None:
    date = hit.date.strftime("%Y-%m-%d") if hit.date else "----------"
    click.echo(f"{rank:3}. {hit.title}")
    click.echo(f"     {date}  {hit.source or '-'}  {hit.id}")
    if hit.regions:
        click.echo(f"     regions: {' '.join(hit.regions)}")
    if hit.copies:
        where = "、".join(sorted({c.source for c in hit.other_copies if c.source})) or "sources not named"
        click.echo(f"     {hit.copies} other {'copy' if hit.copies == 1 else 'copies'}: {where}")


def _echo_timeline(chart) -> None:
    if chart is None:
        click.echo("\nNo dated articles.")
        return
    click.echo(f"\nArticles per {chart.unit}:")
    width = 40
    for bar in chart.bars:
        length = round(bar.count / chart.highest * width) if chart.highest else 0
        click.echo(f"  {bar.label:>7}  {'█' * length}{'▏' if bar.count and not length else ''} {bar.count}")


@cli.command("related")
@click.argument("article_id")
@_index_option
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 20), help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
def related_command(article_id, index_dir, limit, as_json):
    """Articles related to ARTICLE_ID (on its key terms), its own copies left out."""
    index = NewsIndex.open(index_dir)
    if index.article(article_id) is None:
        raise click.ClickException(f"no article with id {article_id!r}")
    hits = index.related(article_id, limit=limit)
    if as_json:
        _echo_json([hit.to_dict() for hit in hits])
        return
    for rank, hit in enumerate(hits, 1):
        _echo_hit(rank, hit)


@cli.command("suggest", context_settings={"ignore_unknown_options": True})
@click.argument("text")
@_index_option
@click.option("--limit", default=8, show_default=True, type=click.IntRange(1, 50), help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Print them as a JSON list.")
def suggest_command(text, index_dir, limit, as_json):
    """Completions for TEXT as typed in a search box: frequent words, then titles."""
    suggestions = NewsIndex.open(index_dir).suggest(text, limit=limit)
    if as_json:
        _echo_json(suggestions)
        return
    for suggestion in suggestions:
        click.echo(suggestion)


@cli.command("serve")
@_index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@_sources_option("Where to build the index from if there is none yet (repeatable). Default: seeds/.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes, each with its own copy of the index open (gunicorn). Default: one per core.",
)
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Threads per worker.")
@click.option(
    "--server",
    "server_name",
    type=click.Choice(["auto", "gunicorn", "waitress"]),
    default="auto",
    show_default=True,
    help="gunicorn (Linux and other Unix: several processes) or waitress (one process, threads only; "
    "--workers is ignored). auto: gunicorn where it can run, else waitress.",
)
@_search_cluster_option
@_replicas_option
def serve(index_dir, host, port, sources, workers, threads, server_name, cluster, replicas):
    """Serve the search page and the JSON API.

    With gunicorn (the default on Linux and other Unix), --workers processes each search on their
    own core; a worker that dies is replaced, SIGTERM lets the requests in flight finish. Where
    gunicorn cannot run (Windows), waitress serves from one process with --threads threads.
    Every worker serves a rebuilt index without a restart. If the index directory holds no index
    yet, it is first built from the sources. With --cluster, Ray actors on the cluster search the
    shards (they stay up when the server stops: `news-search cluster stop` ends them).
    """
    from web import create_app, server, warm_up, warm_up_to_fork

    if current_generation(index_dir) is None:
        sources = list(sources) or list(DEFAULT_SOURCES)
        click.echo(f"No index in {index_dir}/ yet: building it from {', '.join(sources)} ...", err=True)
        summary = _rebuild(sources, index_dir, strict=False, silent=False)
        click.echo(f"{_indexed(summary)} ({len(summary.skipped)} skipped)", err=True)
    if server_name == "auto":
        server_name = "gunicorn" if server.gunicorn_available() else "waitress"
    elif server_name == "gunicorn" and not server.gunicorn_available():
        raise click.UsageError("gunicorn cannot run here (it needs Unix); use --server waitress")
    cluster = cluster_address(cluster)
    config = {"INDEX": index_dir, "CLUSTER": cluster, "REPLICAS": replicas}
    with NewsIndex.open(index_dir) as index:  # the index is readable before any worker starts
        documents = index.doc_count
        shards = index.shards
    where = ""
    if cluster:
        check_cluster(cluster)  # Ray installed, the head reachable (joined by each worker, not here)
        where = f", {shards} shard{'s' if shards > 1 else ''} searched on the Ray cluster at {cluster}"
    announce = server.announce_to()
    server.log_to_stderr()
    app = create_app(config)
    if server_name == "waitress":
        documents = warm_up(app)
        click.echo(f"Serving {documents} articles from {index_dir}/{where} with waitress (Ctrl-C to stop)", err=True)
        server.run_waitress(app, host, port, threads, announce)
        return
    workers = workers or server.cores()
    click.echo(
        f"Serving {documents} articles from {index_dir}/{where} with gunicorn, {workers} worker"
        f"{'s' if workers > 1 else ''} of {threads} thread{'s' if threads > 1 else ''} (Ctrl-C to stop)",
        err=True,
    )
    # The app is built and the index warmed here, in gunicorn's master, before the workers are
    # forked: they share that memory instead of each loading its own copy.
    server.run_gunicorn(app, warm_up_to_fork, warm_up, host, port, workers, threads, announce)


@cli.group("cluster")
def cluster_group():
    """The Ray actors serving a sharded index's shards on a cluster (see `serve --cluster`)."""


@cluster_group.command("status")
@_index_option
@_cluster_option("The Ray cluster serving the index.", required=True)
@_replicas_option
def cluster_status(index_dir, cluster, replicas):
    """Start or find the actors serving the index and print where each shard's replicas run."""
    news = NewsIndex.open(index_dir, cluster=cluster, replicas=replicas)
    news.warm_up(everything=True)
    _echo_json(news.health())


@cluster_group.command("stop")
@_index_option
@_cluster_option("The Ray cluster serving the index.", required=True)
def cluster_stop(index_dir, cluster):
    """End the actors serving the index (they outlive the servers that started them)."""
    stopped = remote.stop(index_dir, cluster, NewsIndex.open(index_dir).shards)
    click.echo(f"Stopped {stopped} actor{'s' if stopped != 1 else ''} serving {index_dir}/")


@cli.command("eval")
@click.option(
    "--queries",
    "queries_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Queries: a TSV file of 'id<TAB>query text' lines.",
)
@click.option(
    "--qrels",
    "qrels_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Relevance judgments: TREC qrels ('qid 0 docid grade').",
)
@_index_option
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_command(queries_file, qrels_file, index_dir, as_json):
    """Measure ranking quality: nDCG@10, Recall@100 and MRR@10 of the queries over the index."""
    queries = read_queries(queries_file)
    qrels = read_qrels(qrels_file)
    result = evaluate(NewsIndex.open(index_dir, time_limit=None), queries, qrels)  # the whole ranking, however busy the machine
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(f"nDCG@10     {result.ndcg10:.4f}")
    click.echo(f"Recall@100  {result.recall100:.4f}")
    click.echo(f"MRR@10      {result.mrr10:.4f}")
    unjudged = len(queries) - result.queries
    note = f" ({unjudged} without relevant judgments left out)" if unjudged else ""
    click.echo(f"queries     {result.queries}{note}")


def main():  # pragma: no cover - console script entry point
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
