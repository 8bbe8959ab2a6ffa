"""Lighthouse scores of the pages: ``python -m tools.bench_lighthouse [--index DIR] [--write]``.

Starts the real ``news-search serve`` on an index (by default the test fixtures' articles, built
into a temporary folder) and runs Node's ``lighthouse`` on the front page, a result page with a
filter and a month timeline, an article, a search that finds nothing and a 400 page, each as a
phone (Lighthouse's default: 412 px, simulated slow 4G and CPU) and as a desktop (``--preset
desktop``), in Debian's chromium (``CHROME_PATH``, default ``/usr/bin/chromium``). Prints the four
category scores and the failing audits; ``--write`` also puts the table into
``docs/accessibility.md`` (between its ``lighthouse`` markers) and the raw figures into
``docs/benchmarks/lighthouse.json``.

Lighthouse is installed beside the checkout, pinned, not in the Python environment::

    npm install --prefix .lighthouse lighthouse@12.8.2
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import click

from tests.helpers import FIXTURES, ROOT, SEED_PAGE, serve, write_jsonl

LIGHTHOUSE = ROOT / ".lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
DOC = ROOT / "docs" / "accessibility.md"
RAW = ROOT / "docs" / "benchmarks" / "lighthouse.json"
START, END = "<!-- lighthouse: start -->", "<!-- lighthouse: end -->"


def seed_index(folder: Path) -> Path:
    """The test fixtures' articles (the seed page, 200 Chongqing articles, the crafted cases) indexed."""
    from search import NewsIndex
    from tests.feature_cases import FEATURE_CASES, SEARCH_CASES

    sources = folder / "sources"
    sources.mkdir()
    (sources / SEED_PAGE.name).write_bytes(SEED_PAGE.read_bytes())
    (sources / "chongqing-200.jsonl").write_bytes((FIXTURES / "chongqing-200.jsonl").read_bytes())
    write_jsonl(sources / "cases.jsonl", SEARCH_CASES)
    write_jsonl(sources / "features.jsonl", FEATURE_CASES)
    NewsIndex.rebuild([sources], folder / "index")
    return folder / "index"


def pages(index: Path) -> dict[str, str]:
    """The audited pages by name, as paths on the server."""
    from search import NewsIndex

    news = NewsIndex.open(index)
    q = quote("重庆")
    hits = news.search("重庆").hits
    source = next((h.source for h in hits if h.source), "")
    return {
        "front": "/",
        "results": f"/search?q={q}" + (f"&source={quote(source)}" if source else ""),
        "article": f"/article/{quote(hits[0].id)}?q={q}",
        "empty": "/search?q=" + quote("zzqqxyzzy"),
        "400": f"/search?q={q}&page=x",
    }


def lighthouse(url: str, form: str, work: Path) -> dict:
    """One Lighthouse run: the scores (0-100) and the audits that did not pass, with their titles."""
    out = work / "report.json"
    command = [
        str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
        "--only-categories=" + ",".join(CATEGORIES),
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if form == "desktop":
        command.append("--preset=desktop")
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    out.unlink(missing_ok=True)
    run = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300, text=True)
    if not out.exists():
        raise click.ClickException(f"lighthouse failed on {url}: {run.stderr.strip()[-500:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    error = (report.get("runtimeError") or {}).get("code")
    if error:  # e.g. ERRORED_DOCUMENT_REQUEST: Lighthouse audits no page sent with a 4xx or 5xx status
        return {"runtime_error": error, "lighthouse": report["lighthouseVersion"],
                "chrome": report["environment"]["hostUserAgent"]}
    scores = {name: round((report["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}
    audit_ids = {ref["id"] for name in CATEGORIES for ref in report["categories"][name]["auditRefs"] if ref["weight"]}
    failing = sorted(
        f"{a['id']} ({a['score']})"
        for a in report["audits"].values()
        if a["id"] in audit_ids and a["score"] is not None and a["score"] < 1
    )
    metrics = report["audits"]
    return {
        **scores,
        "cls": metrics["cumulative-layout-shift"]["numericValue"],
        "lcp_ms": round(metrics["largest-contentful-paint"]["numericValue"]),
        "failing": failing,
        "runtime_error": (report.get("runtimeError") or {}).get("code"),
        "lighthouse": report["lighthouseVersion"],
        "chrome": report["environment"]["hostUserAgent"],
    }


def table(results: dict) -> str:
    lines = [
        "| page | form | performance | accessibility | best practices | SEO | CLS | LCP (ms) | audits not passed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        name, form = key.split("/")
        if r["runtime_error"]:
            lines.append(f"| {name} | {form} | not audited: `{r['runtime_error']}` | | | | | | |")
            continue
        lines.append(
            f"| {name} | {form} | {r['performance']} | {r['accessibility']} | {r['best-practices']} | {r['seo']} "
            f"| {r['cls']:.3f} | {r['lcp_ms']:,} | {', '.join(r['failing']) or '–'} |"
        )
    return "\n".join(lines)


@click.command()
@click.option("--index", type=click.Path(exists=True, file_okay=False, path_type=Path), help="default: the fixtures")
@click.option("--write", is_flag=True, help="write the table into docs/accessibility.md and the raw figures")
def main(index: Path | None, write: bool) -> None:
    if not LIGHTHOUSE.exists():
        sys.exit(f"no lighthouse at {LIGHTHOUSE}: npm install --prefix .lighthouse lighthouse@12.8.2")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        given = index
        index = index or seed_index(work)
        results = {}
        with serve("--index", str(index)) as server:
            for name, path in pages(index).items():
                for form in ("mobile", "desktop"):
                    results[f"{name}/{form}"] = lighthouse(server.url.rstrip("/") + path, form, work)
                    r = results[f"{name}/{form}"]
                    if r["runtime_error"]:
                        print(f"{name:8} {form:8} not audited: {r['runtime_error']}", flush=True)
                        continue
                    print(f"{name:8} {form:8} " + " ".join(f"{c}={r[c]}" for c in CATEGORIES)
                          + f" cls={r['cls']:.3f} lcp={r['lcp_ms']}ms {' '.join(r['failing'])}", flush=True)
    text = table(results)
    print(text)
    if write:
        first = next(iter(results.values()))  # every run reports the versions
        note = (
            f"Lighthouse {first['lighthouse']}, {first['chrome']}; {platform.machine()}, "
            f"{datetime.now(UTC):%Y-%m-%d}; index: {given or 'the test fixtures'}. "
            "`python -m tools.bench_lighthouse --write`"
        )
        RAW.parent.mkdir(exist_ok=True)
        RAW.write_text(json.dumps({"note": note, "results": results}, ensure_ascii=False, indent=1) + "\n")
        doc = DOC.read_text(encoding="utf-8")
        block = f"{START}\n{note}\n\n{text}\n{END}"
        doc = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
        DOC.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
