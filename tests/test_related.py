"""Related articles: more like this one, its own copies left out."""

import json

from click.testing import CliRunner

from search.cli import cli

COPIES = {"copy-wire", "copy-reprint", "copy-portal"}


def test_related_leaves_out_the_article_and_its_copies(news):
    related = news.related("copy-wire")
    found = [hit.id for hit in related]
    assert 0 < len(found) <= 5
    assert not set(found) & COPIES
    # The other write-up of the same event shares its telling words (黛湖, 观鸟节, 夜间): it comes first.
    assert found[0] == "copy-own-story"
    assert len(set(found)) == len(found)


def test_related_collapses_other_stories_copies(news):
    found = [hit.id for hit in news.related("copy-own-story")]
    assert len(set(found) & COPIES) == 1


def test_related_for_an_unknown_article_is_empty(news):
    assert news.related("no-such-article") == ()


def test_cli_related(index_dir):
    result = CliRunner().invoke(cli, ["related", "copy-wire", "--index", str(index_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["id"] == "copy-own-story"
    missing = CliRunner().invoke(cli, ["related", "nope", "--index", str(index_dir)])
    assert missing.exit_code != 0 and "no article" in missing.output


def test_article_page_and_api(client, news):
    page = client.get("/article/copy-wire").get_data(as_text=True)
    related = page[page.index('<section class="related"') :]
    assert 'data-doc-id="copy-own-story"' in related
    assert "相同报道（2 篇）" in page
    data = client.get("/api/article/copy-wire").json
    assert [h["id"] for h in data["related"]] == [h.id for h in news.related("copy-wire")]
    assert {c["id"] for c in data["copies"]} == COPIES - {"copy-wire"}
    assert data["regions"] == ["重庆市", "北碚区"]
    assert client.get("/api/article/nope").status_code == 404
