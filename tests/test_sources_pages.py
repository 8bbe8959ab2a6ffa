"""Page dumps (.txt) from several site layouts, and their encodings."""

from datetime import datetime

import pytest

from search.sources import read_sources

from .helpers import FIXTURES, SEED_PAGE, SEED_TITLE

PAGES = FIXTURES / "pages"

#: file -> title, published, source, byline words, first and last body words, words that must not be in the body
LAYOUTS = {
    "sohu-2020-06-20.txt": (
        "重庆渝东北生态涵养发展区建设加快推进",
        datetime(2020, 6, 20, 10, 12),
        "重庆日报",
        ["张亚飞", "李静", "王晓"],
        "本报讯（记者 张亚飞",
        "推动渝东北三峡库区城镇群高质量发展。",
        ["返回搜狐", "查看更多", "责任编辑", "声明", "阅读 (", "推荐阅读", "重庆夜经济", "原标题", "搜狐首页"],
    ),
    "sina-2020-06-20.txt": (
        "重庆加快建设西部陆海新通道 今年开行班列将超千列",
        datetime(2020, 6, 20, 11, 5),
        "华龙网",
        ["刘钦", "张玉"],
        "华龙网6月20日11时讯",
        "预计开行将超过千列。",
        ["新浪首页", "字号", "客户端", "分享到", "责任编辑", "SINA", "版权所有", "Copyright"],
    ),
    "people-cq.txt": (
        "重庆：小面产业年产值突破百亿元",
        datetime(2020, 6, 20, 9, 53),
        "人民网-重庆频道",
        ["王欣", "陈琳"],
        "人民网重庆6月20日电",
        "推动重庆小面走向世界。",
        ["人民网>>", "分享", "责编", "推荐阅读", "火锅产业链", "版权所有", "Copyright", "网站地图"],
    ),
    "county-news.txt": (
        "巫山脆李进入采摘季 果农喜迎丰收",
        datetime(2020, 6, 20, 9, 53),
        "巫山县融媒体中心",
        ["唐晓英", "李明", "陈红"],
        "6月19日，在巫山县",
        "走出大山、走向全国。",
        [
            "您现在的位置",
            "发布时间",
            "浏览次数",
            "字体",
            "打印",
            "主办单位",
            "404700",
            "023-57681234",
            "ICP",
            "公网安备",
        ],
    ),
    "shangyou-20200620.txt": (
        "巴南区新增3个市级特色小镇",
        datetime(2020, 6, 20, 9, 53),  # the page says 06-20; the year comes from the file name
        "上游新闻",
        ["赵映骥"],
        "上游新闻记者从巴南区获悉",
        "带动周边群众增收。",
        ["首页 >", "扫一扫", "Copyright", "赵映骥"],
    ),
    "epaper-xinhua.txt": (
        "成渝地区双城经济圈建设交通先行",
        datetime(2020, 6, 20),
        "重庆日报",
        ["杨骏"],
        "——今年将开工建设12个重点交通项目",
        "（完）",
        ["第01版", "本报记者", "上一篇"],
    ),
    "cna-traditional.txt": (
        "重慶小麵走進台灣夜市 兩岸業者交流熱絡",
        datetime(2020, 6, 20, 9, 53),
        "中央社",
        ["王珍"],
        "（中央社記者李明台北20日電）",
        "別有一番風味。",
        ["首頁", "來源", "編輯", "不得轉載"],
    ),
    "sohu-account.txt": (
        "重庆主城都市区轨道交通建设提速",
        datetime(2020, 6, 20, 9, 53),
        "重庆日报",  # the account name standing above the date
        [],
        "6月19日，记者从重庆市住房城乡建委获悉",
        "将超过1000公里。",
        ["搜狐首页", "返回搜狐", "重庆日报"],
    ),
    "xinhua-repost.txt": (
        "重庆推进长江经济带绿色发展示范",  # below the metadata line; 新闻中心 above it is a section
        datetime(2020, 6, 20, 9, 53),
        "新华网",
        ["张三", "李四", "李松"],
        "新华社重庆6月20日电",
        "取得明显成效。",
        ["新闻中心", "字号", "打印", "纠错", "责任编辑", "点击"],
    ),
    "gov-portal.txt": (
        "重庆召开全市安全生产电视电话会议",
        datetime(2020, 6, 20),
        "重庆日报",
        [],
        "6月19日，全市安全生产电视电话会议召开。",
        "坚决遏制重特大事故发生。",
        ["首页", "字体", "主办", "ICP", "公网安备", "地址"],
    ),
}


def read_one(path):
    errors = []
    articles = list(read_sources([path], errors.append))
    assert errors == [], errors
    (article,) = articles
    return article


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_page_layouts(name):
    title, published, source, names, first, last, absent = LAYOUTS[name]
    article = read_one(PAGES / name)
    assert article.title == title
    assert article.published == published
    assert article.source == source
    for person in names:
        assert person in article.byline
    assert article.body.startswith(first)
    assert article.body.endswith(last)
    for word in absent:
        assert word not in article.body, word
    assert article.id.startswith("text-")


def test_year_of_a_short_date_comes_from_the_page_when_the_name_has_none(tmp_path):
    page = (PAGES / "shangyou-20200620.txt").read_text(encoding="utf-8").replace("Copyright © 2020", "Copyright © 2019")
    (tmp_path / "shangyou.txt").write_text(page, encoding="utf-8")
    assert read_one(tmp_path / "shangyou.txt").published == datetime(2019, 6, 20, 9, 53)


def test_site_date_header_is_not_the_article_date(tmp_path):
    page = "今天是2020年6月21日 星期日\n首页 | 新闻 | 政务 | 服务\n万州区召开防汛工作会议\n2020-06-20 09:53:12\n来源：万州区应急管理局\n"
    page += "　　6月19日，万州区召开防汛工作会议，安排部署今年防汛工作。\n【关闭】【打印】\n"
    (tmp_path / "wanzhou.txt").write_text(page, encoding="utf-8")
    article = read_one(tmp_path / "wanzhou.txt")
    assert (article.title, article.published, article.source) == (
        "万州区召开防汛工作会议",
        datetime(2020, 6, 20, 9, 53, 12),
        "万州区应急管理局",
    )
    assert article.body == "6月19日，万州区召开防汛工作会议，安排部署今年防汛工作。"


def test_plain_text_without_metadata(tmp_path):
    (tmp_path / "plain.txt").write_text(
        "重庆火锅节下月开幕\n本届火锅节将在南岸区举办。\n主办方表示将同步举办博览会。\n"
    )
    article = read_one(tmp_path / "plain.txt")
    assert (article.title, article.published, article.source) == ("重庆火锅节下月开幕", None, "")
    assert article.body == "本届火锅节将在南岸区举办。\n主办方表示将同步举办博览会。"
    (tmp_path / "plain.txt").write_text("记者19日从重庆市统计局获悉，消费市场逐步回暖。\n第二段。\n")
    article = read_one(tmp_path / "plain.txt")
    assert article.title == "" and article.body.startswith("记者19日") and article.byline == ""


@pytest.mark.parametrize(
    "name, encoding",
    [
        ("people-cq.txt", "gb18030"),
        ("county-news.txt", "gbk"),
        ("sohu-2020-06-20.txt", "gb2312"),
        ("cna-traditional.txt", "big5"),
        ("cna-traditional.txt", "gb18030"),
    ],
)
def test_chinese_encodings_read_as_the_utf8_page(tmp_path, name, encoding):
    original = read_one(PAGES / name)
    copy = tmp_path / name
    copy.write_bytes((PAGES / name).read_text(encoding="utf-8").encode(encoding))
    article = read_one(copy)
    assert (article.title, article.body, article.published, article.source, article.byline) == (
        original.title,
        original.body,
        original.published,
        original.source,
        original.byline,
    )


def test_traditional_text_stays_traditional(tmp_path):
    copy = tmp_path / "cna.txt"
    copy.write_bytes((PAGES / "cna-traditional.txt").read_text(encoding="utf-8").encode("big5"))
    article = read_one(copy)
    assert "重慶小麵" in article.title and "臺" not in article.body and "兩岸廚師" in article.body
    assert "重庆" not in article.body


def test_bom_crlf_and_full_width_spaces(tmp_path):
    text = SEED_PAGE.read_text(encoding="utf-8").replace("\n", "\r\n").replace("  ", "\u3000\u3000")
    copy = tmp_path / "seed.txt"
    copy.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    article, original = read_one(copy), read_one(SEED_PAGE)
    assert article.title == SEED_TITLE and "\r" not in article.body and "\ufeff" not in article.title
    assert (article.body, article.published, article.source) == (original.body, original.published, original.source)
    utf16 = tmp_path / "seed16.txt"
    utf16.write_bytes(SEED_PAGE.read_text(encoding="utf-8").encode("utf-16"))
    assert read_one(utf16).body == original.body


def test_boilerplate_lines_in_traditional_characters_are_recognised():
    """The classifiers read lines through the same traditional-to-simplified table as the analysis."""
    from search.sources import boilerplate as bp

    assert bp.is_contact("廣告服務") and bp.is_contact("聯繫我們")
    assert bp.lead_byline("本報訊（記者 張三）重慶市今天召開會議") == "記者 張三"
