"""Names of well-known Chinese news sites, for records that give a URL but no source name."""

from __future__ import annotations

import re

#: Registered domain -> the name the site goes by (as other records of the corpus name it).
SITE_NAMES = {
    "chinanews.com": "中国新闻网",
    "chinanews.com.cn": "中国新闻网",
    "sohu.com": "搜狐新闻",
    "sina.com.cn": "新浪",
    "sina.cn": "新浪",
    "people.com.cn": "人民网",
    "xinhuanet.com": "新华网",
    "news.cn": "新华网",
    "cctv.com": "央视网",
    "cctv.cn": "央视网",
    "cntv.cn": "央视网",
    "cqnews.net": "华龙网",
    "cqrb.cn": "重庆日报",
    "cqcb.com": "上游新闻",
    "ifeng.com": "凤凰网",
    "qq.com": "腾讯网",
    "163.com": "网易",
    "thepaper.cn": "澎湃新闻",
    "chinadaily.com.cn": "中国日报网",
    "gmw.cn": "光明网",
    "youth.cn": "中国青年网",
    "cnr.cn": "央广网",
    "ce.cn": "中国经济网",
    "china.com.cn": "中国网",
    "huanqiu.com": "环球网",
}
_HOST = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://([^/?#:]+)")


def site_name(url: str) -> str:
    """The name of the news site a URL belongs to, when it is a well-known one, else ``""``."""
    match = _HOST.match(url.strip()) if url else None
    if not match:
        return ""
    parts = match.group(1).lower().split(".")
    for start in range(len(parts) - 1):
        name = SITE_NAMES.get(".".join(parts[start:]))
        if name:
            return name
    return ""
