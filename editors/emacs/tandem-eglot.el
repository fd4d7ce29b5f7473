;;; tandem-eglot.el --- Tandem with Eglot  -*- lexical-binding: t; -*-
;; Load it from your init file: (load "/path/to/tandem/editors/emacs/tandem-eglot.el")
;; then `M-x eglot' in a source buffer.
;;
;; Eglot has no inline (ghost-text) completion: Tandem's suggestions come through
;; `completion-at-point' (and so Corfu/Company).  Eglot never resolves code actions; Tandem
;; puts the edit or command into each action itself, so `M-x eglot-code-actions' on a region
;; offers "Tandem: Refactor", "Generate tests", "Generate docs" and "Explain" and they work.

(require 'eglot)

(defvar tandem-command '("tandem" "lsp")
  "How to start the Tandem server, e.g. (\"/path/to/tandem/.venv/bin/tandem\" \"lsp\").")

(defvar tandem-settings '(:maxTokens 64)
  "The server's `tandem' settings (lsp_server/settings.py), camelCase keys as a plist.
For example (:model \"/models/Qwen2.5-Coder-1.5B\" :draftModel \"/models/Qwen2.5-Coder-0.5B\").")

(defvar tandem-modes '(python-mode python-ts-mode js-mode js-ts-mode typescript-ts-mode
                       go-mode go-ts-mode rust-mode rust-ts-mode c-mode c-ts-mode
                       c++-mode c++-ts-mode java-mode java-ts-mode lua-mode sh-mode)
  "Major modes that use Tandem.  Eglot runs one server per mode, so this replaces the
mode's usual language server.")

(add-to-list 'eglot-server-programs
             `(,tandem-modes . (,@tandem-command
                                :initializationOptions
                                ,(append '(:completionMode "completion") tandem-settings))))

;; Answers the server's workspace/configuration request for the `tandem' section.
(setq-default eglot-workspace-configuration
              (plist-put (copy-sequence (default-value 'eglot-workspace-configuration))
                         :tandem tandem-settings))

(provide 'tandem-eglot)
;;; tandem-eglot.el ends here
