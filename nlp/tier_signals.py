"""What a complaint's words say about how hard it is to handle, for the tier proposal
(tickets/tiers.py): the agencies it names (several: a 联动 case), words of a long history
(多年, 历史遗留: a 历史遗留 case) and of a single repair (坏了, 维修: 立即办).

Plain substring lists, so a proposal can always say which words it rests on; staff decide.
"""

from __future__ import annotations

from dataclasses import dataclass

# Agencies residents name, by the one they stand for (城管 and 城市管理 are one agency).
AGENCIES: dict[str, tuple[str, ...]] = {
    "城管": ("城管", "城市管理", "综合执法"),
    "住建": ("住建", "房管", "建委", "住房和城乡建设"),
    "水务": ("水务", "自来水公司", "水利"),
    "供电": ("供电", "电力公司", "国家电网"),
    "燃气": ("燃气公司", "煤气公司"),
    "公安": ("派出所", "公安", "警察"),
    "交通": ("交通局", "交警", "公交公司"),
    "环保": ("环保", "生态环境"),
    "市场监管": ("市场监管", "工商"),
    "卫健": ("卫健", "卫生院"),
    "教育": ("教育局",),
    "人社": ("人社", "劳动监察"),
    "规划": ("规划局", "自然资源"),
    "物业": ("物业",),
    "开发商": ("开发商",),
}
LONG_HISTORY = (
    "历史遗留",
    "遗留问题",
    "多年",
    "好几年",
    "十几年",
    "几十年",
    "一直没有解决",
    "一直没解决",
    "一直未解决",
    "反映多次",
    "多次反映",
    "反复反映",
    "至今未解决",
    "老大难",
)
# Longer words that hold a signal's word but mean something else (许多年轻人 holds 多年,
# 工商银行 holds 工商): taken out of the text before the signals are looked for.
FALSE_FRIENDS = ("多年轻", "工商银行", "工商业")

SINGLE_REPAIR = (
    "坏了",
    "损坏",
    "维修",
    "修一下",
    "修理",
    "不亮",
    "堵了",
    "堵塞",
    "漏水",
    "破了",
    "掉了",
    "松动",
    "断了",
)


@dataclass(frozen=True)
class TierSignals:
    agencies: tuple[str, ...]  # the agencies named, each once, in the order of AGENCIES
    history: tuple[str, ...]  # words of a long history found
    repair: tuple[str, ...]  # words of a single repair found


def tier_signals(text: str) -> TierSignals:
    """The signals in `text`; each list holds the words (or agencies) found, nothing else."""
    for word in FALSE_FRIENDS:
        text = text.replace(word, "　")
    agencies = tuple(
        agency for agency, words in AGENCIES.items() if any(word in text for word in words)
    )
    history = tuple(word for word in LONG_HISTORY if word in text)
    repair = tuple(word for word in SINGLE_REPAIR if word in text)
    return TierSignals(agencies, history, repair)
