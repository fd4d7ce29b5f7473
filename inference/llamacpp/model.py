"""A GGUF model and its vocabulary, read through llama-cpp-python's low-level API.

Everything a prompt builder needs comes from the GGUF itself: the token list and token types
(FIM-template detection), end-of-generation tokens, whether a BOS token is prepended
(`tokenizer.ggml.add_bos_token`) and the chat template (`tokenizer.chat_template`).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path

from inference.base import EngineError

log = logging.getLogger(__name__)

_backend_lock = threading.Lock()
_backend_ready = False
_log_callback = None  # keep the ctypes callback alive for as long as the library is loaded
#: llama.cpp's latest error lines, so a failed load can say why in its own message.
_recent_errors: list[str] = []


def _llama():
    """Import llama_cpp and initialise its backend once, routing its logs to `logging`."""
    global _backend_ready, _log_callback
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise EngineError(
            "the llama.cpp engine needs llama-cpp-python (pip install llama-cpp-python==0.3.36)"
        ) from exc
    with _backend_lock:
        if not _backend_ready:

            @llama_cpp.llama_log_callback
            def _to_logging(level, text, _user_data):  # llama.cpp would write to stderr
                msg = text.decode("utf-8", "replace").rstrip() if text else ""
                if msg:
                    log.log(logging.ERROR if level == 4 else logging.DEBUG, "llama.cpp: %s", msg)
                    if level == 4:  # GGML_LOG_LEVEL_ERROR
                        _recent_errors.append(msg)
                        del _recent_errors[:-3]

            _log_callback = _to_logging
            llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _backend_ready = True
    return llama_cpp


class GgufModel:
    """Loaded GGUF weights plus the vocabulary facts the engine and prompt builders use."""

    def __init__(self, path: str | Path, *, vocab_only: bool = False) -> None:
        llama_cpp = _llama()
        self.lib = llama_cpp
        p = Path(path).expanduser()
        if not p.is_file():
            raise EngineError(f"GGUF model file not found: {p}")
        with p.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise EngineError(f"not a GGUF file (bad magic): {p}")
        self.path = p
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = 0
        params.vocab_only = vocab_only  # metadata and tokenizer only (inspection, tests)
        _recent_errors.clear()
        model = llama_cpp.llama_model_load_from_file(str(p).encode("utf-8"), params)
        if not model:
            why = _recent_errors[0] if _recent_errors else "see the server log"
            raise EngineError(f"llama.cpp could not load {p}: {why}")
        self.model = model
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(llama_cpp.llama_model_n_ctx_train(model))
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self.bos_id = int(llama_cpp.llama_vocab_bos(self.vocab))
        self.eos_id = int(llama_cpp.llama_vocab_eos(self.vocab))
        self._pieces: dict[int, bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self.special_tokens, self.eog_ids = self._scan_vocab()
        self.chat_template = self.meta("tokenizer.chat_template")
        self._closed = False

    def _scan_vocab(self) -> tuple[list[str], set[int]]:
        """CONTROL and USER_DEFINED tokens (DeepSeek and Qwen mark their FIM tokens
        USER_DEFINED, not special) and every end-of-generation token llama.cpp knows."""
        lib = self.lib
        wanted = lib.LLAMA_TOKEN_ATTR_CONTROL | lib.LLAMA_TOKEN_ATTR_USER_DEFINED
        specials: list[str] = []
        eog: set[int] = set()
        vocab, get_attr, is_eog = self.vocab, lib.llama_vocab_get_attr, lib.llama_vocab_is_eog
        for tok in range(self.n_vocab):  # one C call per token: ~1 s for a 150k vocabulary
            if get_attr(vocab, tok) & wanted:
                text = lib.llama_vocab_get_text(vocab, tok)
                if text:
                    specials.append(text.decode("utf-8", "replace"))
                if is_eog(vocab, tok):
                    eog.add(tok)
        # end-of-generation tokens are special ones; the named ids cover any that are not
        for named in (lib.llama_vocab_eos, lib.llama_vocab_eot):
            tok = int(named(vocab))
            if tok >= 0:
                eog.add(tok)
        return sorted(set(specials)), eog

    def meta(self, key: str) -> str | None:
        size = 1 << 16
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self.lib.llama_model_meta_val_str(self.model, key.encode(), buf, size)
            if n < 0:
                return None
            if n < size:
                return buf.value.decode("utf-8", "replace")
            size = n + 1

    def token_text(self, tok: int) -> str:
        if tok < 0 or tok >= self.n_vocab:
            return ""
        return (self.lib.llama_vocab_get_text(self.vocab, tok) or b"").decode("utf-8", "replace")

    def tokenize(self, text: str, add_bos: bool) -> list[int]:
        """Token ids; special-token text in the prompt (FIM markers) becomes those tokens."""
        data = text.encode("utf-8")
        cap = len(data) + 8
        while True:
            arr = (self.lib.llama_token * cap)()
            n = self.lib.llama_tokenize(self.vocab, data, len(data), arr, cap, add_bos, True)
            if n >= 0:
                return list(arr[:n])
            cap = -n

    def piece(self, tok: int) -> bytes:
        """The bytes a token stands for (control tokens render as nothing), cached."""
        p = self._pieces.get(tok)
        if p is None:
            buf = self._piece_buf
            n = self.lib.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, False)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self.lib.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, False)
            p = bytes(buf.raw[:n])
            self._pieces[tok] = p
        return p

    def same_vocab(self, other: GgufModel) -> bool:
        if self.n_vocab != other.n_vocab:
            return False
        step = max(1, self.n_vocab // 4096)  # a sample of the list is enough to catch a mismatch
        return all(self.token_text(t) == other.token_text(t) for t in range(0, self.n_vocab, step))

    def close(self) -> None:
        if not self._closed and self.model:
            self.lib.llama_model_free(self.model)
            self._closed = True
