"""Text clean-up before classification (预处理): normalise, drop control characters, cut.

The caller keeps the resident's original text; everything here works on a copy, so cutting a
50,000-character message for classification never loses what was stored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Characters the classifier looks at; a long complaint is cut here because the first few
#: thousand characters always say what it is about, and jieba's cost grows with length.
DEFAULT_MAX_CHARS = 2000

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Control and format characters (C0/C1, zero-width, bidi marks) carry no meaning and can
# break jieba's regexes or the explanation shown to staff.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CleanText:
    """A complaint prepared for classification."""

    text: str
    truncated: bool
    has_chinese: bool


def clean_text(raw: object, max_chars: int = DEFAULT_MAX_CHARS) -> CleanText:
    """Normalise (NFKC: full-width → half-width), lower-case, drop control characters, cut.

    Accepts any object so that a ``None`` or a number from a careless caller never raises.
    """
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    # Cut before normalising so a huge input costs no more than ``max_chars`` of work; keep a
    # margin because NFKC and control-character removal may shorten the text.
    truncated = len(text) > max_chars
    if truncated:
        text = text[: max_chars * 2]
    # Lone surrogates (from broken UTF-16 sources) make later encoding fail; replace them.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text).strip().lower()
    if len(text) > max_chars:
        text = text[:max_chars]
        truncated = True
    return CleanText(text=text, truncated=truncated, has_chinese=bool(_HAN.search(text)))
