"""Place and person names for the simulated counties (vectorised draws)."""

from __future__ import annotations

import numpy as np

TOWNSHIPS = (
    "城关镇",
    "中峰镇",
    "石桥镇",
    "青山乡",
    "白果乡",
    "龙泉镇",
    "河口乡",
    "新民乡",
    "杨柳镇",
    "高坪乡",
)
VILLAGE_STEMS = (
    "向阳",
    "柳林",
    "麻家渡",
    "红星",
    "新华",
    "长岭",
    "桃园",
    "石门",
    "双河",
    "金鸡",
    "黄土坡",
    "枫树",
    "大湾",
    "小溪",
    "茶园",
    "竹林",
    "清泉",
    "松柏",
    "李家岗",
    "王家畈",
)
SURNAMES = (
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "郭",
    "何",
    "高",
    "林",
    "罗",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
    "邓",
    "曹",
    "彭",
    "曾",
    "肖",
    "田",
    "董",
    "袁",
    "潘",
    "蒋",
    "蔡",
    "余",
    "杜",
    "叶",
    "程",
    "魏",
    "苏",
    "吕",
    "丁",
    "任",
    "沈",
    "姚",
    "卢",
    "姜",
    "崔",
    "钟",
    "谭",
    "陆",
    "汪",
    "范",
    "金",
    "石",
)
GIVEN_CHARS = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀",
    "霞",
    "平",
    "刚",
    "桂",
    "英",
    "华",
    "建",
    "国",
    "文",
    "红",
    "玉",
    "兰",
    "志",
    "小",
    "晓",
    "海",
    "春",
    "梅",
    "亮",
    "宇",
    "浩",
    "鹏",
    "婷",
    "雪",
    "琳",
    "欣",
    "怡",
    "子",
    "梓",
    "涵",
    "轩",
    "博",
    "佳",
    "嘉",
    "思",
    "雨",
    "诗",
    "俊",
    "宏",
    "一",
    "丹",
    "晨",
    "昊",
    "然",
    "瑞",
    "凯",
    "东",
    "阳",
    "飞",
    "林",
    "峰",
    "辉",
    "丹",
    "倩",
    "蕾",
    "琪",
    "帆",
)
# Names in the Uyghur style carry a middle dot that exports spell in several ways.
DOT_NAMES = ("阿卜杜·热合曼", "买买提·艾力", "古丽·努尔", "艾尔肯·吐尔逊", "热依拉·阿不都")
UNIVERSITIES = (  # (name, in the home province)
    ("武汉某大学", True),
    ("华中某师范大学", True),
    ("湖北某职业技术学院", True),
    ("三峡某大学", True),
    ("北京某学院", False),
    ("广州某大学", False),
    ("长沙某职业学院", False),
)


def draw_names(rng: np.random.Generator, n: int, surnames: np.ndarray | None = None) -> np.ndarray:
    """Vectorised Han names; 0.3% are dotted names."""
    if surnames is None:
        surnames = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    g = np.array(GIVEN_CHARS, dtype=object)
    first = g[rng.integers(0, len(g), n)]
    second = g[rng.integers(0, len(g), n)]
    two = rng.random(n) < 0.7
    names = surnames + first + np.where(two, second, "")
    dotted = rng.random(n) < 0.003
    names[dotted] = np.array(DOT_NAMES, dtype=object)[rng.integers(0, len(DOT_NAMES), dotted.sum())]
    return names


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]


def other_given_name(rng: np.random.Generator, name: str) -> str:
    """A different name with the same surname (an identity conflict, not a spelling variant)."""
    g = GIVEN_CHARS
    while True:
        cand = name[0] + g[int(rng.integers(0, len(g)))] + g[int(rng.integers(0, len(g)))]
        if cand != name:
            return cand
