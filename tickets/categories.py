"""The first level of the official hotline taxonomy (一级分类), the choices staff and residents see
when they correct a category. The classifier's rules (nlp/) cover the same names."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "城乡建设",
    "环境保护",
    "交通运输",
    "劳动和社会保障",
    "卫生计生",
    "教育文体",
    "商贸旅游",
    "民政",
    "政法",
    "农村农业",
    "国土资源",
    "经济管理",
    "科技与信息产业",
    "党务政务",
    "纪检监察",
)
