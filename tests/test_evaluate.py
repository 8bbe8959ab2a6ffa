import json
import math

import pytest
from click.testing import CliRunner

from search import SearchError
from search.cli import cli
from search.evaluate import read_qrels, read_queries, score

from .helpers import ids


def test_graded_gains_and_binary_relevance():
    qrels = {"q1": {"a": 2, "b": 1, "c": 0}}
    result = score({"q1": ["c", "a", "x", "b"]}, qrels)
    # nDCG uses the grades as gains: DCG = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3).
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert result.ndcg10 == pytest.approx((2 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert result.mrr10 == pytest.approx(1 / 2)  # "c" has grade 0: not relevant
    assert result.recall100 == pytest.approx(1.0)
    assert result.queries == 1


def test_a_query_that_finds_nothing_counts_as_zero():
    qrels = {"found": {"a": 1}, "lost": {"b": 1}, "unjudged": {"c": 0}}
    result = score({"found": ["a"], "lost": [], "unjudged": ["c"]}, qrels)
    assert result.queries == 2  # a query without any relevant judgment cannot be scored
    assert result.ndcg10 == pytest.approx(0.5) and result.recall100 == pytest.approx(0.5)
    assert result.per_query["lost"] == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}


def test_reading_queries_and_qrels(tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("q1\t重庆 轨道交通\n\n# comment\nq2\t进博会\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 a 2\nq1 0 b 0\nq2 0 c 1\n", encoding="utf-8")
    assert read_queries(queries) == {"q1": "重庆 轨道交通", "q2": "进博会"}
    assert read_qrels(qrels) == {"q1": {"a": 2, "b": 0}, "q2": {"c": 1}}
    (tmp_path / "bad.tsv").write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(SearchError, match="bad.tsv:1"):
        read_queries(tmp_path / "bad.tsv")
    with pytest.raises(SearchError, match="cannot read"):
        read_queries(tmp_path / "missing.tsv")


def test_eval_command(tmp_path, news, index_dir):
    seed = ids(news.search('"一区两群"'))[0]
    bank = ids(news.search("中国农业发展银行 涪陵 贷款"))[0]
    queries = tmp_path / "queries.tsv"
    queries.write_text("seed\t一区两群\nbank\t农业发展银行 贷款\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text(f"seed 0 {seed} 2\nbank 0 {bank} 1\nbank 0 nowhere 1\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(index_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"ndcg@10", "recall@100", "mrr@10", "queries"}
    assert data["queries"] == 2 and data["mrr@10"] == 1.0
    assert data["recall@100"] == pytest.approx(0.75)  # the bank query finds one of its two
    text = CliRunner().invoke(
        cli, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(index_dir)]
    )
    assert text.exit_code == 0 and "nDCG@10" in text.output and "Recall@100" in text.output


def test_eval_command_reports_a_missing_index(tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("q1\t重庆\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 a 1\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(tmp_path / "none")]
    )
    assert result.exit_code != 0 and "Error" in result.output and "\n" == result.output[-1]
