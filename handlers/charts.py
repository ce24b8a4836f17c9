"""Charts for the dashboard (SVG) and for /stats in chat (PNG): one drawing per chart, so the
picture in chat is the dashboard's. matplotlib without pyplot (no global figure state), Agg.

Chinese labels need a CJK font; without one the charts still draw (the glyphs show as boxes in
the PNG) and a warning says which Debian package to install. SVG keeps text as text, so the
browser's own fonts draw it.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from datetime import date
from functools import cache, lru_cache

import matplotlib
import matplotlib.dates
from matplotlib import font_manager
from matplotlib.figure import Figure

log = logging.getLogger(__name__)

CJK_FONTS = (
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
COLOUR = "#c0392b"  # the dashboard's accent (static/dashboard.css)


@cache
def _font_family() -> list[str]:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed.intersection(CJK_FONTS):
        # matplotlib's font cache predates a font installed since; look at the system's files.
        for path in font_manager.findSystemFonts():
            if any(part in path.lower() for part in ("wqy", "cjk", "droidsansfallback")):
                font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    found = [name for name in CJK_FONTS if name in installed]
    if not found:
        log.warning(
            "no CJK font found: Chinese chart labels will not draw in PNGs "
            "(Debian: apt-get install fonts-wqy-microhei)"
        )
    return [*found, "DejaVu Sans"]


def _figure(width: float = 6.4, height: float = 3.2) -> Figure:
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = _font_family()
    # Fixed margins, not layout="constrained": the layout solver doubled the drawing time.
    return Figure(figsize=(width, height), dpi=100)


def bar_chart(title: str, items: Sequence[tuple[str, int]]) -> Figure:
    """Horizontal bars, the largest on top (tickets by category, by area)."""
    height = max(2.0, 0.7 + 0.3 * len(items))
    figure = _figure(height=height)
    labels = [label for label, _ in reversed(items)]
    # Room on the left for the longest label (a CJK character is about 0.15 in at 10 pt).
    longest = max((len(label) for label in labels), default=1)
    figure.subplots_adjust(
        left=min(0.5, 0.05 + 0.15 * longest / 6.4),
        right=0.95,
        top=1 - 0.45 / height,
        bottom=0.1 / height,
    )
    axes = figure.add_subplot()
    values = [value for _, value in reversed(items)]
    bars = axes.barh(range(len(values)), values, color=COLOUR)
    axes.set_yticks(range(len(values)), labels)
    axes.bar_label(bars, padding=3, fontsize=8)
    axes.set_title(title, loc="left", fontsize=11)
    # Every bar carries its number, so no value axis: it was half of the drawing time.
    axes.xaxis.set_visible(False)
    axes.spines[["top", "right", "bottom"]].set_visible(False)
    axes.margins(x=0.12)
    return figure


def trend_chart(title: str, points: Sequence[tuple[date, int]]) -> Figure:
    """Tickets per day, a line with its area shaded."""
    figure = _figure(width=10, height=2.6)
    figure.subplots_adjust(left=0.05, right=0.98, top=0.86, bottom=0.12)
    axes = figure.add_subplot()
    days = [day for day, _ in points]
    counts = [count for _, count in points]
    axes.plot(days, counts, color=COLOUR, linewidth=1.8)
    axes.fill_between(days, counts, color=COLOUR, alpha=0.12)
    axes.set_title(title, loc="left", fontsize=11)
    axes.set_ylim(bottom=0)
    axes.spines[["top", "right"]].set_visible(False)
    axes.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%m-%d"))
    return figure


def _render(figure: Figure, kind: str) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Missing glyphs (no CJK font) are reported once above, not once per character.
        warnings.simplefilter("ignore", UserWarning)
        figure.savefig(buffer, format=kind, metadata={"Date": None} if kind == "svg" else None)
    return buffer.getvalue()


# The dashboard asks for the same chart again and again while its figures have not changed:
# drawings are kept by their data (never by time), so a new ticket shows at once.
@lru_cache(maxsize=256)
def bar_chart_bytes(title: str, items: tuple[tuple[str, int], ...], kind: str) -> bytes:
    return _render(bar_chart(title, items), kind)


@lru_cache(maxsize=256)
def trend_chart_bytes(title: str, points: tuple[tuple[date, int], ...], kind: str) -> bytes:
    return _render(trend_chart(title, points), kind)


def forget_drawings() -> None:
    """Empty the drawing caches (the benchmark measures cold drawing this way)."""
    bar_chart_bytes.cache_clear()
    trend_chart_bytes.cache_clear()
