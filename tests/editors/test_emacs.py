"""Emacs + Eglot (apt `elpa-eglot`), batch mode, with editors/emacs/tandem-eglot.el and the real
server: the README order works (tandem-command set after loading the file), the mode line shows
tandem/status, and a completion arrives through completion-at-point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EL = REPO / "editors" / "emacs" / "tandem-eglot.el"
EMACS = shutil.which("emacs")

pytestmark = pytest.mark.skipif(
    EMACS is None, reason="emacs not installed (apt-get install emacs-nox elpa-eglot)"
)

DRIVER = r"""
(setq debug-on-error nil)
(require 'package)
(package-initialize)
(load "%(el)s")
;; README order: load the file first, set the command afterwards.
(setq tandem-command '("%(python)s" "-m" "lsp_server" "lsp"))
(setq tandem-settings '(:model "%(model)s" :maxTokens 8))
(setq-default eglot-workspace-configuration (list :tandem tandem-settings))
(defvar out nil)
(defun done (&optional err)
  (with-temp-file "%(out)s"
    (insert (json-encode (list :error (and err (format "%%S" err))
                               :status tandem-status
                               ;; format-mode-line renders nothing in batch (no frame):
                               ;; evaluate the mode-line construct's :eval form directly
                               :modeline (eval (cadr tandem--mode-line))
                               :in_global (and (memq 'tandem--mode-line global-mode-string) t)
                               :candidates out))))
  (kill-emacs 0))
(condition-case err
    (progn
      (find-file "%(src)s")
      (python-mode)
      ;; what M-x eglot does: guess the contact from eglot-server-programs (our function)
      (apply #'eglot (eglot--guess-contact))
      (let ((t0 (float-time)))
        (while (and (not (eglot-current-server)) (< (- (float-time) t0) 60))
          (accept-process-output nil 0.2))
        (while (and (not (equal (plist-get tandem-status :state) "ready"))
                    (< (- (float-time) t0) 120))
          (accept-process-output nil 0.2)))
      (goto-char (point-max))
      (let ((capf (eglot-completion-at-point)))
        (setq out (and capf (all-completions "" (nth 2 capf)))))
      (let ((t0 (float-time)))
        (while (and (null (plist-get tandem-status :request)) (< (- (float-time) t0) 30))
          (accept-process-output nil 0.2)))
      (done))
  (error (done err)))
"""


def test_eglot_status_in_mode_line_and_completion(tmp_path, editor_model_dir):
    src = tmp_path / "a.py"
    src.write_text("def add(a, b):\n    return ")
    out = tmp_path / "out.json"
    script = tmp_path / "drive.el"
    script.write_text(
        DRIVER
        % {
            "el": EL, "python": sys.executable, "model": editor_model_dir, "out": out,
            "src": src,
        }
    )  # fmt: skip
    env = {"PYTHONPATH": str(REPO), "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.run(
        [EMACS, "--batch", "-q", "-l", str(script)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
        env={**__import__("os").environ, **env},
    )  # fmt: skip
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["error"] is None, (result["error"], proc.stderr[-3000:])
    status = result["status"]
    assert status["state"] == "ready", status
    assert result["modeline"].startswith(" Tandem"), result["modeline"]
    assert result["in_global"] is True
    assert status["request"]["kind"] == "completion"
    assert "session" in status and "health" in status
    assert "file-missing" not in proc.stderr
