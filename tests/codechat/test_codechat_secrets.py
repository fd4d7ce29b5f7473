"""CodeChat works on masked text, and its edits land on the real file with the user's secrets
put back where the model kept their masks; an edit that would write a mask is refused."""

from __future__ import annotations

from codechat import ChatTask, run_task
from codechat.diff import apply_changes
from codechat.secrets import SecretMap, mask_task, restore_outcome
from testing.scripted import ScriptedEngine

KEY = "AKIAZQXWCEVRBTNYMUKA"
TOKEN = "ghp_" + "Z9" * 18
SRC = f'KEY_ID = "{KEY}"\nTOKEN = "{TOKEN}"\n\n\ndef add(a, b):\n    return a + b\n'
MASK_KEY = "*" * len(KEY)
MASK_TOKEN = "*" * len(TOKEN)


async def _refactor(src: str, answer: str, instruction: str = ""):
    task, secrets = mask_task(ChatTask("refactor", "/w/a.py", "python", src, 0, len(src),
                                       instruction))  # fmt: skip
    engine = ScriptedEngine(answer)
    outcome = await run_task(engine, task)
    prompt = engine.requests[0].prompt
    return restore_outcome(outcome, secrets, task.text, src), prompt


async def test_the_model_sees_masks_and_the_edit_keeps_the_real_secrets():
    answer = (
        f'```python\nAWS_KEY_ID = "{MASK_KEY}"\nTOKEN = "{MASK_TOKEN}"\n\n\n'
        "def add(a: int, b: int) -> int:\n    return a + b\n```"
    )
    outcome, prompt = await _refactor(SRC, answer)
    assert KEY not in prompt and TOKEN not in prompt and MASK_KEY in prompt
    assert outcome.ok, outcome.message
    (fc,) = outcome.files
    assert fc.old_text == SRC
    new = apply_changes(SRC, [*fc.changes])
    assert new == fc.new_text
    assert f'AWS_KEY_ID = "{KEY}"' in new and f'TOKEN = "{TOKEN}"' in new
    assert "*" * 16 not in new
    assert "def add(a: int, b: int) -> int:" in new


async def test_a_token_typed_into_the_instruction_is_masked_too():
    slack = "xoxb-" + "1234567890-abcdefghij"
    outcome, prompt = await _refactor(
        "def f():\n    return 1\n",
        f'```python\ndef f():\n    return "{"*" * len(slack)}"\n```',
        instruction=f"return the token {slack} instead",
    )
    assert slack not in prompt and "*" * len(slack) in prompt
    assert outcome.ok and slack in outcome.files[0].new_text  # restored from the instruction


async def test_a_garbled_mask_is_refused_not_written_over_the_secret():
    answer = f'```python\nKEY_ID = "{MASK_KEY[:-2]}"\nTOKEN = "{MASK_TOKEN}"\n\n\n' \
        "def add(a, b):\n    return b + a\n```"  # fmt: skip
    outcome, _ = await _refactor(SRC, answer)
    assert not outcome.ok and outcome.reason == "rejected" and "garbled mask" in outcome.message
    assert not outcome.files


def test_two_secrets_behind_one_mask_cannot_be_told_apart():
    other = "AKIAZQXWCEVRBTNYMUKB"
    secrets = SecretMap.of(f'A = "{KEY}"\nB = "{other}"\n')
    assert secrets.restore("x = 1\n") == "x = 1\n"  # no mask used: nothing to decide
    try:
        secrets.restore(f'B = "{MASK_KEY}"\n')
    except ValueError as exc:
        assert "2 different secrets" in str(exc)
    else:
        raise AssertionError("an ambiguous mask was restored")


def test_asterisks_the_user_already_had_are_kept():
    secrets = SecretMap.of(f'KEY = "{KEY}"\n')
    banner = "# " + "*" * 30
    assert secrets.restore(banner + "\n", before=banner + "\n") == banner + "\n"
