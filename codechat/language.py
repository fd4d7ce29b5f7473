"""Which human language the user wrote in, from the script of their instruction.

Only scripts are told apart (Cyrillic → Russian, Hangul → Korean, Han → Chinese, else English):
cheap, deterministic and right for the languages the issue names.
"""

from __future__ import annotations

import re

_SCRIPTS = [
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
]
NAMES = {"en": "English", "ru": "Russian", "ko": "Korean", "zh": "Chinese"}


def detect_language(text: str) -> str:
    """'en' | 'ru' | 'ko' | 'zh': the script with the most letters in `text` wins."""
    best, best_n = "en", 0
    for code, rx in _SCRIPTS:
        n = len(rx.findall(text or ""))
        if n > best_n:
            best, best_n = code, n
    latin = len(re.findall(r"[A-Za-z]", text or ""))
    # Code identifiers in the instruction are Latin; a few words of another script still win.
    return best if best_n and best_n >= latin / 4 else "en"
