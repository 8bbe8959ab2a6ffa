"""Crafted articles that join the session index beside the fixture files (see conftest.py).

Each id says what the article is for: ``SEARCH_CASES`` for matching, escaping and duplicates,
``FEATURE_CASES`` for regions, syndicated copies and traditional characters.
"""

from __future__ import annotations

#: Articles made for one behaviour of the search each.
SEARCH_CASES = [
    {
        "id": "case-all-words",
        "title": "轨道交通建设提速",
        "body": "重庆轨道交通十号线二期开通运营，重庆市民出行更方便。",
        "date": "2023-08-01T10:00:00",
        "source": "重庆晨报",
        "url": "https://example.com/a",
    },
    {
        "id": "case-one-word",
        "title": "",
        "body": "重庆重庆重庆，重庆是一座山城。重庆的火锅很有名。重庆夜景也美。",
        "date": "2023-08-02T10:00:00",
        "source": "重庆晨报",
        "url": "",
    },
    {
        "id": "case-yu-far",
        "title": "川渝合作",
        "body": "川渝两地携手发展，渝中区的企业家来到东北考察冰雪旅游产业。",
        "date": "2019-01-05",
        "source": "华龙网",
        "url": "",
    },
    {
        "id": "case-xss",
        "title": "<script>alert(1)</script>山城快讯",
        "body": '<b>加粗</b> 山城快讯 & 更多 "引号" 内容。',
        "date": "2021-05-01",
        "source": "测试网",
        "url": "javascript:alert(1)",
    },
    {
        "id": "case-bank",
        "title": "",
        "body": "中国农业发展银行重庆市分行向涪陵区发放贷款三亿元。",
        "date": "2022-03-03",
        "source": "华龙网",
        "url": "",
    },
    {
        "id": "case-fullwidth",
        "title": "ＡＩ大会开幕",
        "body": "第二届ＡＩ大会在重庆召开，ＣＰＵ和ＧＰＵ厂商参展。",
        "date": "2021-09-09",
        "source": "华龙网",
        "url": "",
    },
    {
        "id": "case-duplicate",
        "title": "轨道交通建设提速",
        "body": "重庆轨道交通十号线二期开通运营，重庆市民出行更方便。",
        "date": "2023-08-01T10:00:00",
        "source": "另一家报纸",
        "url": "",
    },
]

# One story as three outlets ran it: the wire text, a reprint with a 原标题 line and an editor, and a
# portal copy with its boilerplate and one sentence cut.
STORY = (
    "新华社重庆6月18日电（记者 王晓）第三届缙云山黛湖观鸟节18日在重庆北碚区开幕。"
    "来自全国各地的两百多名观鸟爱好者聚集黛湖湿地，记录到白鹭、池鹭、夜鹭、翠鸟等四十余种鸟类。"
    "北碚区林业局介绍，近年来缙云山国家级自然保护区持续开展生态修复，黛湖周边的鸟类栖息地明显改善，"
    "今年观鸟节首次开放夜间观测线路，并设立青少年自然教育课堂。"
    "主办方表示，观鸟节将持续到6月底，期间还将举办摄影展和鸟类科普讲座，欢迎市民报名参加。"
)
REPRINT = "原标题：缙云山黛湖观鸟节开幕 四十余种鸟类亮相\n" + STORY + "\n（责任编辑：李明）"
PORTAL = STORY.replace("，并设立青少年自然教育课堂", "") + "\n返回搜狐，查看更多\n责任编辑："

#: Articles for regions, syndicated copies and traditional characters.
FEATURE_CASES = [
    {
        "id": "copy-wire",
        "title": "缙云山黛湖观鸟节开幕",
        "body": STORY,
        "date": "2024-06-18T10:00:00",
        "source": "新华社",
    },
    {
        "id": "copy-reprint",
        "title": "缙云山黛湖观鸟节开幕 四十余种鸟类亮相",
        "body": REPRINT,
        "date": "2024-06-18T15:30:00",
        "source": "华龙网",
    },
    {
        "id": "copy-portal",
        "title": "黛湖观鸟节开幕",
        "body": PORTAL,
        "date": "2024-06-19T08:00:00",
        "source": "搜狐新闻",
    },
    {
        # The same event written up anew: shares facts, not text. Not a copy.
        "id": "copy-own-story",
        "title": "黛湖观鸟节：夜间线路受欢迎",
        "body": (
            "记者在缙云山黛湖看到，夜间观测线路开放首晚就迎来不少家庭。志愿者手持红光手电，"
            "带领孩子们辨认夜鹭的叫声。一位家长说，平时很少有机会在夜里走进保护区，孩子收获很大。"
            "据了解，夜间线路每晚限流八十人，需要提前在网上预约，雨天将暂停开放。"
        ),
        "date": "2024-06-19T21:00:00",
        "source": "重庆晨报",
    },
    {
        "id": "region-wanzhou",
        "title": "万州：三峡移民新城再添滨江步道",
        "body": "记者从万州区住房城乡建委获悉，万州滨江步道北段日前建成开放，全长六公里。市民可沿江骑行、散步。",
        "date": "2024-05-02T09:00:00",
        "source": "三峡都市报",
    },
    {
        "id": "region-person",
        "title": "乡村教师的二十年",
        "body": "他叫江北，是一名乡村教师。二十年来，江北每天步行上山给孩子们上课，从未缺席。",
        "date": "2024-05-03T09:00:00",
        "source": "教育周刊",
    },
    {
        "id": "region-ningbo",
        "title": "宁波江北区推出老旧小区加装电梯补贴",
        "body": "宁波市江北区近日出台新政，江北区老旧小区加装电梯可申请最高二十万元补贴。",
        "date": "2024-05-04T09:00:00",
        "source": "宁波日报",
    },
    {
        "id": "region-jiangbei",
        "title": "江北区观音桥商圈夜经济升温",
        "body": "入夏以来，江北区观音桥商圈客流明显增长，江北区商务委介绍，夜间消费占比超过四成。",
        "date": "2024-05-05T09:00:00",
        "source": "重庆日报",
    },
    {
        "id": "trad-noodles",
        "title": "重慶小麵走進台灣夜市 兩岸業者交流熱絡",
        "body": "重慶小麵近年在台灣夜市受到歡迎，兩岸廚師透過交流活動切磋技藝，讓台灣消費者也能吃到道地口味。",
        "date": "2024-05-06T09:00:00",
        "source": "中央社",
    },
]
