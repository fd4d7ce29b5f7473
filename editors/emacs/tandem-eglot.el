;;; tandem-eglot.el --- Tandem with Eglot  -*- lexical-binding: t; -*-
;; Load it from your init file, before or after setting `tandem-command' (it is read when
;; Eglot starts the server, not when this file loads):
;;
;;   (setq tandem-command '("/path/to/tandem/.venv/bin/tandem" "lsp"))
;;   (load "/path/to/tandem/editors/emacs/tandem-eglot.el")
;;
;; then `M-x eglot' in a source buffer.
;;
;; Eglot has no inline (ghost-text) completion: Tandem's suggestions come through
;; `completion-at-point' (and so Corfu/Company).  Eglot never resolves code actions; Tandem
;; puts the edit or command into each action itself, so `M-x eglot-code-actions' on a region
;; offers "Tandem: Refactor", "Generate tests", "Generate docs" and "Explain" and they work.
;; The mode line shows Tandem's state (from the server's `tandem/status' notifications).

(require 'eglot)
(require 'cl-lib)

(defvar tandem-command '("tandem" "lsp")
  "How to start the Tandem server, e.g. (\"/path/to/tandem/.venv/bin/tandem\" \"lsp\").")

(defvar tandem-settings '(:maxTokens 64)
  "The server's `tandem' settings (lsp_server/settings.py), camelCase keys as a plist.
For example (:model \"/models/qwen2.5-coder-1.5b-q8_0.gguf\") on a CPU; without :model
the server uses its default model (Gemma 3 270M once fetched).")

(defvar tandem-modes '(python-mode python-ts-mode js-mode js-ts-mode typescript-ts-mode
                       go-mode go-ts-mode rust-mode rust-ts-mode c-mode c-ts-mode
                       c++-mode c++-ts-mode java-mode java-ts-mode lua-mode sh-mode)
  "Major modes that use Tandem.  Eglot runs one server per mode, so this replaces the
mode's usual language server.")

(defvar tandem-command-timeout 300
  "Seconds to wait for a Tandem command (CodeChat) before giving up.
Eglot's default (10 s) is shorter than a CodeChat answer from a large model on a CPU.")

(defun tandem--contact (&optional _interactive)
  "The server contact, read when Eglot starts it (so `tandem-command' may be set later)."
  `(,@tandem-command
    :initializationOptions ,(append '(:completionMode "completion") tandem-settings)))

(add-to-list 'eglot-server-programs `(,tandem-modes . tandem--contact))

;; Answers the server's workspace/configuration request for the `tandem' section.
(setq-default eglot-workspace-configuration
              (plist-put (copy-sequence (default-value 'eglot-workspace-configuration))
                         :tandem tandem-settings))

;;; Status in the mode line

(defvar tandem-status nil
  "The last `tandem/status' notification, as a plist (:state :message :request ...).")

(defun tandem-status-text (&optional status)
  "Short text for STATUS (default `tandem-status'), e.g. \"Tandem 42ms spec 80%\"."
  (let* ((status (or status tandem-status))
         (state (plist-get status :state))
         (request (plist-get status :request))
         (stats (plist-get request :stats))
         (health (plist-get (plist-get status :health) :state)))
    (cond
     ((null status) "")
     ((not (equal state "ready")) (format "Tandem: %s" state))
     (t (concat "Tandem"
                (let ((ms (plist-get request :latencyMs)))
                  (if (numberp ms) (format " %dms" (round ms)) ""))
                (let ((rate (plist-get stats :acceptance_rate))
                      (drafted (plist-get stats :drafted_tokens)))
                  (if (and (numberp rate) (numberp drafted) (> drafted 0))
                      (format " spec %d%%" (round (* 100 rate)))
                    ""))
                (if (equal health "slow") " slow" ""))))))

(defvar tandem--mode-line '(:eval (let ((s (tandem-status-text)))
                                    (if (string-empty-p s) "" (concat " " s)))))
(put 'tandem--mode-line 'risky-local-variable t)
(unless (member 'tandem--mode-line global-mode-string)
  (setq global-mode-string (append (or global-mode-string '("")) '(tandem--mode-line))))

(cl-defmethod eglot-handle-notification (_server (_method (eql tandem/status)) &rest params)
  "Remember Tandem's status for the mode line."
  (setq tandem-status params)
  (force-mode-line-update t))

(cl-defmethod eglot-handle-notification (_server (_method (eql tandem/chatProgress)) &rest params)
  "Streamed CodeChat text: the whole answer so far (replace, don't append)."
  (let ((text (plist-get params :text)))
    (when (and (stringp text) (not (string-empty-p text)) (not (eq (plist-get params :done) t)))
      (let ((message-log-max nil))
        (message "Tandem: %s" (truncate-string-to-width
                               (replace-regexp-in-string "\n" " " text) 70 nil nil "…"))))))

;;; CodeChat commands answer at once (the outcome follows as window/showMessage); older
;;; servers answered only when the run ended, which can take longer than Eglot's timeout

(defun tandem--long-commands (orig server command arguments)
  "Call ORIG (eglot-execute-command) with a longer timeout for tandem.* commands."
  (let ((jsonrpc-default-request-timeout
         (if (and (stringp command) (string-prefix-p "tandem." command))
             tandem-command-timeout
           jsonrpc-default-request-timeout)))
    (funcall orig server command arguments)))

(advice-add 'eglot-execute-command :around #'tandem--long-commands)

(provide 'tandem-eglot)
;;; tandem-eglot.el ends here
