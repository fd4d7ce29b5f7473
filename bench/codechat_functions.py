"""A fixed set of 20 small Python functions for `tandem bench codechat --set small20`.

Written for this benchmark (not copied from a library, so no Python version changes them), each
with words an explanation that is on topic uses: the function's name, or one of `topic` (its
subject in plain words). Kept small: a 270M base model has a 32K context, but CodeChat on a CPU
should take seconds per answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Snippet:
    name: str
    source: str
    #: Lower-case words an on-topic explanation mentions (any one suffices, or the name).
    topic: tuple[str, ...]


SNIPPETS = [
    Snippet("is_leap", "def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n", ("leap",)),
    Snippet("clamp", "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n", ("range", "between", "limit", "bound")),
    Snippet("mean", "def mean(xs):\n    if not xs:\n        raise ValueError(\"empty\")\n    return sum(xs) / len(xs)\n", ("average", "mean")),
    Snippet("factorial", "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result\n", ("factorial", "product", "multipl")),
    Snippet("fib", "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n", ("fibonacci",)),
    Snippet("is_palindrome", "def is_palindrome(s):\n    s = ''.join(c.lower() for c in s if c.isalnum())\n    return s == s[::-1]\n", ("palindrome", "reverse", "backward")),
    Snippet("count_vowels", "def count_vowels(text):\n    return sum(1 for c in text.lower() if c in 'aeiou')\n", ("vowel",)),
    Snippet("flatten", "def flatten(lists):\n    out = []\n    for sub in lists:\n        out.extend(sub)\n    return out\n", ("flat", "nested", "concatenat", "sublist", "single list")),
    Snippet("chunks", "def chunks(xs, n):\n    return [xs[i:i + n] for i in range(0, len(xs), n)]\n", ("chunk", "split", "piece", "group")),
    Snippet("celsius_to_fahrenheit", "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n", ("fahrenheit", "celsius", "temperature")),
    Snippet("gcd", "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n", ("divisor", "gcd", "euclid")),
    Snippet("is_prime", "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True\n", ("prime",)),
    Snippet("word_count", "def word_count(text):\n    counts = {}\n    for word in text.split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts\n", ("frequen", "occurrence", "each word", "how many times")),
    Snippet("dedupe", "def dedupe(items):\n    seen = set()\n    out = []\n    for x in items:\n        if x not in seen:\n            seen.add(x)\n            out.append(x)\n    return out\n", ("duplicate", "unique", "order")),
    Snippet("max_index", "def max_index(xs):\n    best = 0\n    for i in range(1, len(xs)):\n        if xs[i] > xs[best]:\n            best = i\n    return best\n", ("largest", "maximum", "biggest", "highest")),
    Snippet("capitalize_words", "def capitalize_words(s):\n    return ' '.join(w[:1].upper() + w[1:] for w in s.split(' '))\n", ("capital", "upper")),
    Snippet("binary_search", "def binary_search(xs, target):\n    lo, hi = 0, len(xs) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        if xs[mid] == target:\n            return mid\n        if xs[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1\n", ("binary", "search", "sorted")),
    Snippet("running_total", "def running_total(xs):\n    total = 0\n    out = []\n    for x in xs:\n        total += x\n        out.append(total)\n    return out\n", ("cumulative", "running", "prefix sum")),
    Snippet("safe_div", "def safe_div(a, b, default=0.0):\n    try:\n        return a / b\n    except ZeroDivisionError:\n        return default\n", ("zero", "divi")),
    Snippet("parse_kv", "def parse_kv(line):\n    key, _, value = line.partition('=')\n    return key.strip(), value.strip()\n", ("key", "value", "pair")),
]  # fmt: skip


def prose(answer: str) -> str:
    """The answer without its fenced code blocks: echoing the code is not explaining it."""
    return re.sub(r"```.*?(```|$)", " ", answer, flags=re.S)


def on_topic(snippet: Snippet, answer: str) -> bool:
    """Whether an explanation talks about this function, in prose (at least a sentence's worth
    of words outside code blocks, naming the function or its subject)."""
    low = prose(answer).lower()
    if len(re.findall(r"[a-z]{2,}", low)) < 6:
        return False
    return snippet.name.lower() in low or any(w in low for w in snippet.topic)
