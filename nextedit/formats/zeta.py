"""Zed's Zeta 1 format (zed-industries/zeta, a Qwen2.5-Coder-7B fine-tune).

An instruction, the user's recent edits as `User edited {path}:` unified diffs in ```diff
fences, then the excerpt: the file's lines around the region in a ```{path} fence, the region
between `<|editable_region_start|>` and `<|editable_region_end|>` on lines of their own, the
cursor as `<|user_cursor_is_here|>` (and `<|start_of_file|>` when the excerpt starts the
file). The model answers under `### Response:` with the excerpt, the region rewritten whole.
"""

from __future__ import annotations

from nextedit.formats.base import NextEditFormat, NextEditInput, PromptSpec

CURSOR = "<|user_cursor_is_here|>"
START_OF_FILE = "<|start_of_file|>"
REGION_START = "<|editable_region_start|>"
REGION_END = "<|editable_region_end|>"
INSTRUCTION = (
    "### Instruction:\n"
    "You are a code completion assistant and your task is to analyze user edits and then "
    "rewrite an excerpt that the user provides, suggesting the appropriate edits within the "
    "excerpt, taking into account the cursor location.\n\n"
)
#: Lines of context above and below the region inside the excerpt.
CONTEXT_LINES = 5
#: Zed's budget for the edits section, in characters (its 500 tokens at ~3 bytes a token).
MAX_EVENT_CHARS = 1500


def events_text(inp: NextEditInput) -> str:
    """Newest edits first into the budget, shown oldest first, blank-line separated."""
    out: list[str] = []
    used = 0
    for e in reversed(inp.recent):
        block = f"User edited {e.path}:\n```diff\n{e.diff.rstrip(chr(10))}\n```"
        if used + len(block) > MAX_EVENT_CHARS:
            break
        out.insert(0, block)
        used += len(block)
    return "\n\n".join(out)


class ZetaFormat(NextEditFormat):
    name = "zeta"
    reserved = (CURSOR, START_OF_FILE, REGION_START, REGION_END)

    def excerpt(self, inp: NextEditInput) -> str:
        r = inp.region
        lo = max(0, r.start - CONTEXT_LINES)
        hi = min(len(inp.lines), r.end + CONTEXT_LINES)
        head = f"```{inp.path}\n" + (f"{START_OF_FILE}\n" if lo == 0 else "")
        before = "".join(x + "\n" for x in inp.lines[lo : r.start])
        after = "".join("\n" + x for x in inp.lines[r.end : hi])
        region = f"{REGION_START}\n{r.with_marker(CURSOR)}\n{REGION_END}"
        return head + before + region + after + "\n```"

    def build(self, inp: NextEditInput, *, chat: bool = False) -> PromptSpec:
        text = (
            INSTRUCTION
            + f"### User Edits:\n\n{events_text(inp)}\n\n"
            + f"### User Excerpt:\n\n{self.excerpt(inp)}\n\n"
            + "### Response:\n"
        )
        return PromptSpec(prompt=text, stop=[REGION_END, "<|endoftext|>"])

    def region_so_far(self, output: str) -> str | None:
        output = output.replace(CURSOR, "")
        at = output.find(REGION_START)
        if at == -1:
            return None
        text = output[at + len(REGION_START) :]
        if text.startswith("\n"):
            text = text[1:]
        end = text.find(REGION_END)
        if end != -1:
            text = text[:end]
        return text

    def render(self, inp: NextEditInput, new_lines: list[str]) -> str:
        r = inp.region
        lo = max(0, r.start - CONTEXT_LINES)
        head = f"```{inp.path}\n" + (f"{START_OF_FILE}\n" if lo == 0 else "")
        before = "".join(x + "\n" for x in inp.lines[lo : r.start])
        return head + before + f"{REGION_START}\n" + "\n".join(new_lines) + f"\n{REGION_END}"
