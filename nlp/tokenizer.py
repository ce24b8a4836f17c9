"""Tokenisation (分词) with jieba, loaded once per process with MinHu's domain dictionary.

jieba builds a prefix dictionary of ~350,000 words on first use (about a second, or a fraction
of that from its cache file).  We own one ``jieba.Tokenizer`` per process instead of touching
jieba's global one, so other code that uses jieba is not affected by our user dictionary.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import threading
import time
from collections import Counter
from importlib import resources
from pathlib import Path

import jieba

USER_DICT = "userdict.txt"

# A feature is a word with at least one Chinese character, or a Latin/number word such as
# "wifi" or "4s店"; single Latin letters, bare numbers and punctuation say nothing about the
# category and only add noise.
_HAS_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"^(?=.*[a-z])[a-z0-9+#&._%-]{2,}$")

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_load_seconds: float | None = None


def _jieba_cache_dir() -> str:
    # jieba writes its cache next to the system temp files by default and prints to stderr;
    # a private folder keeps concurrent users from racing on the same file name.
    path = (
        Path(tempfile.gettempdir()) / f"minhu-jieba-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def get_tokenizer() -> jieba.Tokenizer:
    """The process-wide jieba tokenizer with the domain dictionary (built on first call)."""
    global _tokenizer, _load_seconds
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            started = time.perf_counter()
            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.tmp_dir = _jieba_cache_dir()
            tok.initialize()
            user_dict = resources.files("nlp").joinpath("data").joinpath(USER_DICT)
            with resources.as_file(user_dict) as path:
                tok.load_userdict(str(path))
            _load_seconds = time.perf_counter() - started
            _tokenizer = tok
    return _tokenizer


def load_seconds() -> float:
    """Seconds spent building the tokenizer (loads it if needed); reported by benchmarks."""
    get_tokenizer()
    assert _load_seconds is not None
    return _load_seconds


def is_feature(token: str) -> bool:
    """Whether a token can be a keyword (词特征)."""
    return bool(_HAS_HAN.search(token) or _LATIN_WORD.match(token))


def tokens(text: str) -> list[str]:
    """Words of ``text`` in search mode (搜索引擎模式): long words also yield their parts.

    Search mode matters for short chat messages: "住房公积金" also gives "公积金", so a rule
    written for the short word still fires.  ``text`` should come from ``clean_text``.
    """
    return [t for t in get_tokenizer().cut_for_search(text) if is_feature(t)]


def term_weights(text: str) -> dict[str, float]:
    """Distinct words with sublinear counts: 1 + ln(count), so repeating a word helps a little."""
    return {t: 1.0 + math.log(n) if n > 1 else 1.0 for t, n in Counter(tokens(text)).items()}


def is_single_token(word: str) -> bool:
    """Whether jieba yields ``word`` as one token, so a rule keyword can match by token.

    Keywords jieba would split (a phrase such as "电动车乱充电") are matched as substrings.
    """
    tok = get_tokenizer()
    if tok.FREQ.get(word):
        return True
    return word in set(tok.cut_for_search(word))
