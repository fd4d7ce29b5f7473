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

;; Debian's elpa-eglot (Emacs 28) lives in /usr/share/emacs/site-lisp/elpa, which only the
;; site start-up files (skipped by `emacs -Q') make known: when Eglot is not found otherwise,
;; list that directory and activate the installed packages (Eglot 1.9 is one).
(unless (require 'eglot nil t)
  (require 'package)
  (dolist (dir '("/usr/share/emacs/site-lisp/elpa" "/usr/local/share/emacs/site-lisp/elpa"))
    (when (file-directory-p dir)
      (add-to-list 'package-directory-list dir t)))
  (package-initialize)
  (require 'eglot))
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

;; The mode line reads `%' as a %-construct ("spec 96%" would lose its sign): escape it.
(defvar tandem--mode-line '(:eval (let ((s (tandem-status-text)))
                                    (if (string-empty-p s) ""
                                      (concat " " (replace-regexp-in-string "%" "%%" s t t))))))
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

;;; Next-edit suggestions (the server's `nextEdit' setting turns them on)

(defface tandem-next-edit-removed '((t :inherit diff-removed :strike-through t))
  "The text a next-edit suggestion replaces.")
(defface tandem-next-edit-added '((t :inherit diff-added))
  "The line(s) a next-edit suggestion gives.")

(defun tandem--point (pos)
  "Buffer position of the LSP position POS (a plist :line :character)."
  (save-excursion
    (goto-char (point-min))
    (forward-line (plist-get pos :line))
    (let ((eol (line-end-position)))
      ;; Eglot negotiates UTF-16 by default; `eglot-move-to-column' knows the encoding
      (if (fboundp 'eglot-move-to-column)
          (eglot-move-to-column (plist-get pos :character))
        (forward-char (min (plist-get pos :character) (- eol (point)))))
      (point))))

(defun tandem-next-edit ()
  "Ask Tandem for the next edit, show it in place and offer to apply it.
The replaced text is struck through, the resulting line shown after it; `y' applies
every edit of the suggestion, anything else dismisses it."
  (interactive)
  (let* ((server (eglot-current-server))
         (result (and server
                      (jsonrpc-request server :tandem/nextEdit
                                       `(:textDocument (:uri ,(eglot--path-to-uri buffer-file-name)
                                                        :version ,eglot--versioned-identifier)
                                         :position ,(eglot--pos-to-lsp-position)))))
         (edits (and result (append (plist-get result :edits) nil)))
         (overlays nil))
    (if (null edits)
        (message "Tandem: no next edit%s"
                 (let ((why (and result (plist-get result :reason))))
                   (if why (format " (%s)" why) "")))
      (unwind-protect
          (progn
            (dolist (e edits)
              (let* ((range (plist-get e :range))
                     (beg (tandem--point (plist-get range :start)))
                     (end (tandem--point (plist-get range :end)))
                     (line (concat (buffer-substring (save-excursion (goto-char beg) (line-beginning-position)) beg)
                                   (plist-get e :text)
                                   (buffer-substring end (save-excursion (goto-char end) (line-end-position)))))
                     (ov (make-overlay beg end)))
                (overlay-put ov 'face 'tandem-next-edit-removed)
                (let ((after (make-overlay (save-excursion (goto-char end) (line-end-position))
                                           (save-excursion (goto-char end) (line-end-position)))))
                  (overlay-put after 'after-string
                               (propertize (concat "  → " (string-trim line)) 'face 'tandem-next-edit-added))
                  (push after overlays))
                (push ov overlays)))
            (when (y-or-n-p "Tandem: apply the next edit? ")
              ;; last edit first, so earlier positions stay valid
              (dolist (e (sort (copy-sequence edits)
                               (lambda (a b) (> (tandem--point (plist-get (plist-get a :range) :start))
                                                (tandem--point (plist-get (plist-get b :range) :start))))))
                (let* ((range (plist-get e :range))
                       (beg (tandem--point (plist-get range :start)))
                       (end (tandem--point (plist-get range :end))))
                  (delete-region beg end)
                  (save-excursion (goto-char beg) (insert (plist-get e :text)))))
              (let ((cmd (plist-get (car edits) :command)))
                (when cmd
                  (dolist (e edits)
                    (let ((c (plist-get e :command)))
                      (eglot-execute-command server (plist-get c :command) (plist-get c :arguments))))))))
        (mapc #'delete-overlay overlays)))))

(defun tandem-apply-next-edit ()
  "Predict and apply the next edit at once (the server's `tandem.applyNextEdit')."
  (interactive)
  (eglot-execute-command (eglot-current-server) "tandem.applyNextEdit" []))

(provide 'tandem-eglot)
;;; tandem-eglot.el ends here
