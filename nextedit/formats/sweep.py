"""Sweep's next-edit format (sweepai/sweep-next-edit-1.5B, a Qwen2.5-Coder fine-tune).

Every section is a `<|file_sep|>{name}` block (Qwen2.5-Coder's repository format): context
files, then each recent change as `{path}.diff` with `original:` and `updated:` texts, then the
21-line window as it was before the newest edit (`original/{path}`) and as it is now
(`current/{path}`), then an open `updated/{path}` block that the model fills with the window
rewritten, ending at the next `<|file_sep|>` (or end of text).
"""

from __future__ import annotations

from nextedit.formats.base import NextEditFormat, NextEditInput, PromptSpec

FILE_SEP = "<|file_sep|>"
STOPS = [FILE_SEP, "<|endoftext|>", "</s>"]
#: Zed keeps the 3 newest change blocks; more would push the window out of short contexts.
MAX_CHANGES = 3


def _block(name: str, content: str) -> str:
    return f"{FILE_SEP}{name}\n{content}" + ("" if content.endswith("\n") else "\n")


class SweepFormat(NextEditFormat):
    name = "sweep"
    reserved = (FILE_SEP, "<|endoftext|>", "</s>")

    def build(self, inp: NextEditInput, *, chat: bool = False) -> PromptSpec:
        parts = [_block(p, t) for p, t in inp.context_files]
        for e in inp.recent[-MAX_CHANGES:]:
            parts.append(
                _block(f"{e.path}.diff", f"original:\n{e.original}\nupdated:\n{e.updated}")
            )
        parts.append(_block(f"original/{inp.path}", "\n".join(inp.original_region_lines())))
        parts.append(_block(f"current/{inp.path}", inp.region.text))
        parts.append(f"{FILE_SEP}updated/{inp.path}\n")
        return PromptSpec(prompt="".join(parts), stop=list(STOPS))

    def region_so_far(self, output: str) -> str | None:
        for s in STOPS:
            at = output.find(s)
            if at != -1:
                output = output[:at]
        return output

    def render(self, inp: NextEditInput, new_lines: list[str]) -> str:
        return "\n".join(new_lines) + "\n" + FILE_SEP
