"""Where the cursor sits, which decides single- vs multi-line and what postprocessing does.

Modes:
- "inline": text before the cursor on its line -> finish this line only; several lines only
  when the rest of the line is closers or whitespace (`foo(█)`, `[█]);`): the mid-line policy.
- "comment": an empty line inside a comment or string -> one line of prose.
- "line_start": nothing before the cursor but text after it -> insert whole lines above the
  rest of the line (the layout of the HumanEval infilling benchmarks).
- "block": an empty line right after a block opener (`:`, `{`, `(`, ...) -> write the body.
- "line": any other empty line -> one or more lines, within the enclosing definition.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from completion.languages import Language, language_for
from completion.types import CompletionContext
from textkit import cursor_window
from textkit.lines import first_lines, last_lines, lsp_lines

MULTILINE_MODES = ("block", "line", "line_start")
#: The rest of a line a mid-line suggestion may span several lines before: closers (and the
#: `;` / `,` that ends the statement or item), nothing else.
_CLOSERS_ONLY = re.compile(r"[\s)\]}]*[;,]?\s*")


def rest_is_closers(after: str) -> bool:
    """True when the text after a mid-line cursor is only closing brackets or whitespace."""
    return _CLOSERS_ONLY.fullmatch(after) is not None


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def width(ws: str) -> int:
    return len(ws.expandtabs(4))


def _strip_line_comment(line: str, lang: Language) -> str:
    """Drop a trailing `# ...` / `// ...` comment (good enough to read the line's last char)."""
    marker = lang.line_comment
    if marker and marker in line:
        head = line[: line.index(marker)]
        if head.count('"') % 2 == 0 and head.count("'") % 2 == 0:
            return head
    return line


@lru_cache(maxsize=16)  # prepare and finalize ask for the same window
def detect_indent_unit(text: str) -> str:
    """The file's indentation step: a tab, or the most common positive step in spaces."""
    steps: Counter[str] = Counter()
    prev = 0
    for line in lsp_lines(text)[:2000]:
        if not line.strip():
            continue
        ws = indent_of(line)
        if ws.startswith("\t"):
            steps["\t"] += 1
            continue
        n = len(ws)
        if n > prev:
            steps[" " * (n - prev)] += 1
        prev = n
    if not steps:
        return "    "
    unit, _ = steps.most_common(1)[0]
    return unit if unit == "\t" or 1 < len(unit) <= 8 else "    "


@dataclass
class Cursor:
    lang: Language
    prefix: str
    suffix: str
    #: Cursor line text before / after the cursor.
    before: str
    after: str
    #: Last non-blank line above the cursor line; first non-blank line below it.
    prev_line: str
    next_line: str
    indent_unit: str
    in_string: bool
    in_comment: bool
    mode: str
    #: Stop strings of the plan (postprocessing cuts there too: not every backend honours them).
    stop: tuple[str, ...] = ()
    #: Prefix mode: the model saw only the prefix, so it knows nothing of the suffix and
    #: overruns in its own ways (postprocess/prefix_overrun.py).
    prefix_mode: bool = False
    #: Lines of the cross-file context as the prompt quoted them (postprocess/leak.py).
    context_lines: frozenset[str] = frozenset()
    #: Per-request memo for the filters (layouts, parses) of one suggestion.
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def multiline(self) -> bool:
        if self.mode == "inline":
            return rest_is_closers(self.after) and not (self.in_string or self.in_comment)
        return self.mode in MULTILINE_MODES

    @property
    def in_indentation(self) -> bool:
        """Only whitespace before the cursor on its line (column 0 included)."""
        return not self.before.strip()

    @property
    def line_indent(self) -> str:
        """Indentation of the cursor line (what is typed before the cursor, or the rest's)."""
        return indent_of(self.before if self.before.strip() else self.before + self.after)

    @property
    def block_indent(self) -> str:
        """Where a new block body starts: one step deeper than the opener."""
        return indent_of(self.prev_line) + self.indent_unit

    def opens_block(self, line: str) -> bool:
        code = _strip_line_comment(line, self.lang).rstrip()
        return bool(code) and code.endswith(self.lang.block_openers)


#: Line ends after which the statement goes on: the next line may sit anywhere (an arrow
#: function's body, an operand, the next item).
_CONTINUATION = ("\\", "=>", "=", "&&", "||", "+", "-", "*", "/", "?", "|", "&", ",")


def max_next_indent(line: str, cur: Cursor) -> float:
    """The deepest indentation (columns) the line after `line` can have: one step more after a
    block opener, the same otherwise; anything after an open bracket, a backslash or an operator
    that goes on (aligned continuation lines, `(params) =>` then a deeper body)."""
    if not line.strip():
        return width(cur.indent_unit)
    code = _strip_line_comment(line, cur.lang).rstrip()
    if code.endswith(_CONTINUATION) or code.count("(") + code.count("[") + code.count("{") > (
        code.count(")") + code.count("]") + code.count("}")
    ):
        return float("inf")
    step = width(cur.indent_unit) if cur.opens_block(line) else 0
    return width(indent_of(line)) + step


#: How far the nearest non-blank line is looked for, above and below the cursor line; the first
#: try splits only a few lines (a 10k-line document costs no more than a short one).
_NEAR_LINES, _FIRST_TRY = 200, 16


def _cursor_line_and_above(prefix: str) -> tuple[str, str]:
    """(the cursor line before the cursor, the last non-blank line above it within 200)."""
    for n in (_FIRST_TRY, _NEAR_LINES):
        above = last_lines(prefix, n + 1)
        before = above.pop() if prefix and not prefix.endswith(("\n", "\r")) else ""
        prev_line = next((x for x in reversed(above[-n:]) if x.strip()), "")
        if prev_line or len(above) < n:  # found, or there are no more lines
            return before, prev_line
    return before, prev_line


def _cursor_line_and_below(suffix: str) -> tuple[str, str]:
    """(the cursor line after the cursor, the first non-blank line below it within 200)."""
    for n in (_FIRST_TRY, _NEAR_LINES):
        below = first_lines(suffix, n + 1)  # below[0]: the rest of the cursor line
        after = below.pop(0) if below else ""
        next_line = next((x for x in below[:n] if x.strip()), "")
        if next_line or len(below) < n:
            return after, next_line
    return after, next_line


def analyze(ctx: CompletionContext, mode: str | None = None, stop: tuple[str, ...] = ()) -> Cursor:
    """Read the cursor position; `mode` overrides the detected mode (a plan already chose)."""
    lang = language_for(ctx.language_id, ctx.uri)
    prefix, suffix = ctx.prefix, ctx.suffix
    before, prev_line = _cursor_line_and_above(prefix)
    after, next_line = _cursor_line_and_below(suffix)

    state = cursor_window.cursor_syntax(lang.grammar, prefix, suffix)
    in_string = bool(state and state.in_string)
    in_comment = bool(state and state.in_comment)

    cur = Cursor(
        lang=lang,
        prefix=prefix,
        suffix=suffix,
        before=before,
        after=after,
        prev_line=prev_line,
        next_line=next_line,
        indent_unit=detect_indent_unit(prefix[-3000:] + suffix[:1000]),  # ~100 lines suffice
        in_string=in_string,
        in_comment=in_comment,
        mode="",
        stop=tuple(stop),
    )
    cur.mode = mode or _detect_mode(cur)
    return cur


def _detect_mode(cur: Cursor) -> str:
    if cur.before.strip():
        return "inline"
    if cur.after.strip():
        return "line_start"
    if cur.in_string or cur.in_comment:
        return "comment"
    if cur.prev_line and cur.opens_block(cur.prev_line):
        return "block"
    return "line"


def following_lines(cur: Cursor, limit: int = 200) -> list[str]:
    """Lines after the cursor line."""
    return first_lines(cur.suffix, 1 + limit)[1:]
