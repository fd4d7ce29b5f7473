"""Next-edit suggestions (NES): predict the user's next edit from their recent edits.

A pure core, beside `completion/` and `codechat/`: it sees only the engine interface
(`inference.base`). The pieces, in the order a request uses them:

* `history.py` — recent edits per document and across files, coalesced into bursts (a run of
  typing in one place is one edit) and kept as unified diffs, bounded in number and size;
* `region.py` — the editable region around the cursor (21 lines: 10 above, 10 below);
* `formats/` — prompt formats (Sweep's next-edit, Zed's Zeta 1, a generic one), chosen from the
  model or the `nextEditFormat` setting;
* `rejoin.py` — the early stop: once the streamed rewrite has re-joined the original region,
  the rest is the original, so generation stops and the rest is spliced in;
* `edits.py` — the rewrite turned into minimal edits, and the postprocessing filters;
* `predict.py` — one request end to end: prompt, speculative generation (the region is the
  prompt-lookup draft), early stop, edits and stats.
"""

from nextedit.edits import TextEdit, apply_edits, rewrite_to_edits
from nextedit.history import EditHistory, RecentEdit
from nextedit.predict import NextEditRequest, NextEditResult, NextEditStats, predict
from nextedit.region import Region, region_around

__all__ = [
    "EditHistory",
    "NextEditRequest",
    "NextEditResult",
    "NextEditStats",
    "RecentEdit",
    "Region",
    "TextEdit",
    "apply_edits",
    "predict",
    "region_around",
    "rewrite_to_edits",
]
