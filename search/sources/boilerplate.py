"""What is not the article on a Chinese news page: navigation, share buttons, footers, bylines.

Line classifiers shared by the page-dump reader and the HTML reader (which cleans what the
extraction library leaves), plus the source name and byline found in metadata lines.
Every test here looks at one short line; article paragraphs are long, so a classifier only
fires on lines short enough to be page furniture.
"""

from __future__ import annotations

import re

from ..traditional import to_simplified

STRIP = _STRIP = " \t\r\n\u3000\xa0\ufeff\u200b\u2002\u2003"
_BULLETS = "•·●◆◇■□▪▶►▸>|*" + _STRIP
_SENTENCE = re.compile(r"[。！？!?；;]")
_TRAILING_PUNCT = re.compile(r"[。；;，,、：:]$")

# Navigation: breadcrumbs and menus.
_CRUMB = re.compile(
    r"当前位置|您的位置|您现在的位置|你的位置|所在位置|现在位置"
    r"|(?:首页|主页|网首页|新闻中心)\s*(?:>|»|>>|＞|→|/|-)"
    r"|\S\s*(?:>>|»|＞|→|>)\s*\S[^>»＞→]{0,12}\s*(?:>>|»|＞|→|>)"
)
_MENU_WORDS = re.compile(
    r"^(?:首页|返回首页|主页|登录|注册|退出|搜索|导航|菜单|全\s*部|更多|English|客户端|下载客户端|手机版|网站导航"
    r"|打开\S{0,8}(?:客户端|APP|App|app)|设为首页|加入收藏|无障碍|繁体|简体|订阅|投稿|RSS)$"
)
_MENU_SPLIT = re.compile(r"[\s|｜丨/·]+")

# Buttons and counters around the article.
_SHARE = re.compile(
    r"^(?:分享到|分享至|转发到|分享)\s*[:：]?"
    r"|扫一扫|扫描二维码|二维码|分享让更多人看到|点击(?:右上角|分享)"
    r"|(?:字号|字体)\s*[:：]?\s*[【\[]?\s*[大中小]|^[【\[]?\s*[大中小]\s*[】\]]?\s*[【\[]?\s*[大中小]\s*[】\]]?"
    r"|打印本页|关闭窗口|[【\[](?:打印|关闭|收藏|纠错|字体)[】\]]|我要纠错|收藏本文|打开\S{0,8}(?:客户端|APP|App|app)"
    r"|^(?:阅读|浏览|点击|评论|点赞|收藏|转发|举报|在看)(?:数|量|次数)?\s*[:：(（]?\s*\d*\s*[)）]?(?:次)?$"
    r"|^\d+\s*(?:人)?(?:阅读|浏览|评论|点赞|参与)$"
)
# The page footer and what follows an article: once one of these is met, the article is over.
_END = re.compile(
    r"返回搜狐|^查看更多$|^[（(【\[]?\s*(?:责任编辑|责编)\s*[:：]|[【\[]纠错[】\]]|^声明\s*[:：]|免责声明|^特别声明"
    r"|^(?:上一篇|下一篇|上一条|下一条)|^相关(?:新闻|阅读|推荐|链接|报道|文章|稿件|专题)"
    r"|^(?:推荐|延伸|热门|热点|精彩|更多|猜你|为你)(?:阅读|推荐|喜欢|新闻|文章|精彩|图片|视频|专题)"
    r"|^(?:网友评论|我要评论|发表评论|评论区|热门评论|参与评论)|分享让更多人看到"
    r"|copyright|版权所有|all\s+rights\s+reserved|ICP|公网安备|网安备|互联网新闻信息服务|新闻信息服务许可"
    r"|举报电话|举报邮箱|违法和不良信息|未经.{0,10}授权|不得(?:复制|转载|镜像)|建立镜像|^\S{2,30}(?:主办|承办|协办)$",
    re.IGNORECASE,
)
# Footer lines that are also dropped anywhere near the end: contacts and site links.
_CONTACT = re.compile(
    r"^(?:地址|通讯地址|联系地址|邮编|邮政编码|(?:联系|咨询|热线|新闻热线|报料|服务|投诉|值班)?电话|传真|邮箱|电子邮箱|E-?mail)"
    r"\s*[:：]"
    r"|关于我们|联系我们|广告服务|网站地图|网站简介|招聘信息|技术支持|主办单位|^(?:主办|承办|协办)\s*[:：]",
    re.IGNORECASE,
)
_PHONE_ONLY = re.compile(r"^[\d\s()（）+＋\-－—、,，/转]{7,}$")

# Bylines: reporter, correspondent, editor, photographer lines.
_BYLINE = re.compile(
    r"^[（(【\[]?\s*(?P<key>文\s*[|｜丨/／]|图\s*[|｜丨/／]|文\s*/"
    r"|(?:[\u4e00-\u9fffA-Za-z·]{1,14}?(?:报|网|社|新闻|台|中心)\s*·?\s*)?(?:本报|特约|见习|实习)?(?:记者|通讯员)|实习生"
    r"|(?:责任|实习|网络|值班|本版|校对|审核|终审|一审|二审|三审)?编辑|责编|校对|审核|审校|终审|监制|出品人?|策划|统筹|作者|撰文"
    r"|摄影|摄像|图片|制图|视频|剪辑)"
    r"\s*[:：|｜丨/／]?\s*(?P<rest>.*?)\s*[)）】\]]?$"
)
_REPORTER_VERBS = re.compile(
    r"^(?:获悉|了解|从|在|近日|日前|昨日|今日|今天|昨天|来到|走进|看到|注意到|发现|采访|获得|得知|调查|探访|实地|随|跟随|\d)"
)
_NAMES = re.compile(r"^(?:[\u4e00-\u9fffA-Za-z·]{2,6}(?:[\s、，,/／]+|$)){1,8}$")
_REPORTER_WORD = re.compile(r"记者|通讯|实习生")
_LEAD_BYLINE = re.compile(
    r"(?:本报讯|讯|电|报道)\s*[（(]\s*((?:(?:本报|特约|见习|实习)?记者|通讯员|实习生)[^）()（]{1,40})[）)]"
)

# Source names: "来源：重庆日报", or a paper, site or station named on the date line.
_NAMED_SOURCE = re.compile(
    r"(?:来源|来自|稿源|出处|转自|稿件来源|新闻来源)\s*[:：]\s*(?P<name>[^\s|｜丨,，;；:：]{2,40})"
)
_SOURCE_CUT = re.compile(r"(?:作者|编辑|记者|责编|发布|时间|日期|浏览|点击|阅读|字号).*$")
_SOURCE_NAME = re.compile(
    r"^[\u4e00-\u9fffA-Za-z0-9·\-－]{1,20}?(?:日报|晚报|早报|晨报|商报|时报|周报|都市报|青年报|法制报|报|新闻网|网|在线|电视台|广播电视台"
    r"|电台|台|新闻社|通讯社|社|客户端|新闻|传媒|频道|头条|APP|App|app|观察|发布)$"
)
_NOT_SOURCE = re.compile(r"发布|时间|作者|编辑|记者|字号|评论|阅读|浏览|分享|来源|当前|位置|首页|返回|^本[网报台站社]$")


def clean_line(line: str) -> str:
    """A line without surrounding spaces (full-width too) and list bullets."""
    return line.strip(_STRIP).strip(_BULLETS).strip(_STRIP)


def strip_line(line: str) -> str:
    """A line without surrounding spaces, full-width ones included."""
    return line.strip(_STRIP)


def text_lines(text: str) -> list[str]:
    """The non-empty, cleaned lines of ``text`` (any newline convention)."""
    return [line for line in map(clean_line, text.splitlines()) if line]


def is_nav(line: str) -> bool:
    """A breadcrumb, a menu or a site button."""
    if len(line) > 120 or _SENTENCE.search(line):
        return False
    line = to_simplified(line)
    if _CRUMB.search(line) or _MENU_WORDS.match(line):
        return True
    words = [w for w in _MENU_SPLIT.split(line) if w]
    return len(words) >= 4 and all(len(w) <= 6 for w in words)


def is_share(line: str) -> bool:
    """A share button, font-size switch, print link or counter."""
    return len(line) <= 60 and bool(_SHARE.search(to_simplified(line)))


def is_end(line: str) -> bool:
    """A line that only comes after an article: editor, related links, disclaimer, copyright, ICP."""
    return len(line) <= 100 and bool(_END.search(to_simplified(line)))


def is_contact(line: str) -> bool:
    """An address, phone, fax or e-mail line, or a site link, of a page footer."""
    if len(line) > 80:
        return False
    return bool(_CONTACT.search(to_simplified(line)) or _PHONE_ONLY.match(line))


def is_furniture(line: str) -> bool:
    """Anything that is page furniture wherever it stands."""
    return is_share(line) or is_end(line)


def byline_of(line: str) -> str | None:
    """The line itself when it is a byline (记者 张三, 文|杨帆, 编辑:郭浏婷), else ``None``."""
    if len(line) > 60 or "。" in line:
        return None
    match = _BYLINE.match(to_simplified(line))
    if not match:
        return None
    key, rest = match.group("key"), match.group("rest")
    if not rest or key.startswith("来源"):
        return None
    if any(word in key for word in ("记者", "通讯员", "作者", "实习生")):
        if _REPORTER_VERBS.match(rest) or not _NAMES.match(rest):
            return None
    return line.strip("（）()【】[] ")


def lead_byline(paragraph: str) -> str | None:
    """The reporters named at the start of a lead: 本报讯（记者 张三 通讯员 李四）."""
    head = paragraph[:80]
    plain = to_simplified(head)
    if not _REPORTER_WORD.search(plain):
        return None
    match = _LEAD_BYLINE.search(plain)
    return head[match.start(1) : match.end(1)].strip() if match else None


def source_of(line: str) -> str:
    """The source a metadata line names: after 来源：, or a paper, site or station name in it."""
    plain = to_simplified(line)
    match = _NAMED_SOURCE.search(plain)
    if match:
        name = line[match.start("name") : match.end("name")]
        cut = _SOURCE_CUT.search(plain, match.start("name"), match.end("name"))
        if cut:
            name = name[: cut.start() - match.start("name")]
        return name.strip("-－—_ ")
    for word in _MENU_SPLIT.split(line):
        word = word.strip("【】[]()（）")
        plain = to_simplified(word)
        if 2 <= len(word) <= 20 and _SOURCE_NAME.match(plain) and not _NOT_SOURCE.search(plain):
            return word
    return ""


def ends_sentence(line: str) -> bool:
    """Whether ``line`` ends like a sentence or a clause (so it is no headline)."""
    return bool(_TRAILING_PUNCT.search(line))
