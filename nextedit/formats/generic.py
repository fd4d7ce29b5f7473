"""A generic next-edit prompt for models trained on neither format.

Instruction models get it as a chat message (their chat template); base models get the same
text as a plain prompt that ends inside the answer, so the model only has to continue it: it
has just read the region once and, with the recent edits above, rewrites it. The answer is the
region between `<region>` and `</region>`.
"""

from __future__ import annotations

from nextedit.formats.base import NextEditFormat, NextEditInput, PromptSpec

OPEN = "<region>"
CLOSE = "</region>"
CURSOR = "<|cursor|>"

INSTRUCTION = (
    "Predict the next edit. The user's recent edits are shown as unified diffs. Rewrite the "
    f"region between {OPEN} and {CLOSE} (the cursor is at {CURSOR}) the way the user will "
    "change it next, continuing what their edits started (the same rename or change in the "
    "lines they have not reached yet). Keep every other line as it is. Answer with the "
    f"rewritten region only, between {OPEN} and {CLOSE}, without the cursor marker."
)


class GenericFormat(NextEditFormat):
    name = "generic"
    reserved = (OPEN, CLOSE, CURSOR)

    def body(self, inp: NextEditInput) -> str:
        diffs = "\n".join(e.unified() for e in inp.recent[-3:]) or "(none)\n"
        region = inp.region.with_marker(CURSOR)
        return (
            f"{INSTRUCTION}\n\nRecent edits:\n```diff\n{diffs}```\n\n"
            f"File {inp.path}:\n{OPEN}\n{region}\n{CLOSE}\n"
        )

    def build(self, inp: NextEditInput, *, chat: bool = False) -> PromptSpec:
        if chat:
            return PromptSpec(messages=[{"role": "user", "content": self.body(inp)}], stop=[CLOSE])
        return PromptSpec(prompt=self.body(inp) + f"\nRewritten region:\n{OPEN}\n", stop=[CLOSE])

    def region_so_far(self, output: str) -> str | None:
        at = output.find(OPEN)
        if at != -1:
            output = output[at + len(OPEN) :]
            if output.startswith("\n"):
                output = output[1:]
        end = output.find(CLOSE)
        text = output if end == -1 else output[:end]
        return text.replace(CURSOR, "")

    def render(self, inp: NextEditInput, new_lines: list[str]) -> str:
        return "\n".join(new_lines) + "\n" + CLOSE
