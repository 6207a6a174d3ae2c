"""Server backends against real servers on loopback: llama.cpp's OpenAI-compatible server running the
packaged model, and a tiny Ollama-protocol stand-in (Ollama itself is not installable here)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from fakes import free_port
from rag.errors import BriefError
from rag.models.llm import complete, make_llm
from rag.questions.answer import Answerer
from rag.store.desk import Desk

AID_Q = "How much additional aid did Harris announce for the region?"


def wait_until_up(url: str, proc: subprocess.Popen, log, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not come up")


# `python -m llama_cpp.server`, its models loaded as the embedded backend loads them: without llama.cpp's
# extra buffer types, whose AMX kernels crash on these CPUs (rag/models/llm.py)
SERVER_WITHOUT_EXTRA_BUFFERS = (
    "import runpy, llama_cpp; from rag.models.llm import load_without_extra_buffers; "
    "load_without_extra_buffers(llama_cpp); runpy.run_module('llama_cpp.server', run_name='__main__')"
)


@pytest.fixture(scope="module")
def llama_server(model_dir, tmp_path_factory):
    """llama.cpp's OpenAI-compatible server on loopback with the packaged Gemma GGUF."""
    port = free_port()
    gguf = next(model_dir.glob("*.gguf"))
    cmd = [
        sys.executable,
        "-c",
        SERVER_WITHOUT_EXTRA_BUFFERS,
        "--model",
        str(gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "2",
    ]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("w") as sink:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/v1/models", proc, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.server
@pytest.mark.model
def test_openai_backend_answers_with_citation_through_llama_cpp_server(
    llama_server, make_settings, seeds_dir
):
    desk = Desk(
        make_settings(
            embedder="minilm", llm_backend="openai", llm_base_url=llama_server, llm_api_key="sk-test-secret"
        )
    )
    desk.ingest([seeds_dir])
    tokens: list[str] = []
    answer = Answerer(desk).ask(AID_Q, on_token=tokens.append)
    assert answer.backend == "openai:default"
    assert not answer.refused
    assert any(c.source == "003_ab779828a3a3face.txt" and "$310 million" in c.quote for c in answer.citations)
    assert tokens, "the server's tokens were streamed"


@pytest.mark.server
@pytest.mark.model
def test_openai_backend_streams_raw_completions(llama_server, make_settings):
    backend = make_llm(make_settings(llm_backend="openai", llm_base_url=llama_server))
    text = complete(backend, "Mexico City is the capital of", 8, ["\n"])
    assert text.strip()


def test_unreachable_openai_server_names_the_setting(make_settings):
    backend = make_llm(
        make_settings(
            llm_backend="openai", llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_timeout_s=3
        )
    )
    with pytest.raises(BriefError, match="BRIEF_LLM_BASE_URL"):
        complete(backend, "hello", 4, [])


def test_openai_backend_without_url_names_the_setting(make_settings):
    with pytest.raises(BriefError, match="BRIEF_LLM_BASE_URL"):
        make_llm(make_settings(llm_backend="openai"))


class OllamaStandIn(BaseHTTPRequestHandler):
    """Speaks Ollama's /api/generate streaming protocol (NDJSON) with a scripted reply."""

    seen: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        OllamaStandIn.seen.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for word in ["Harris ", "announced ", "$310 ", "million."]:
            self.wfile.write((json.dumps({"response": word, "done": False}) + "\n").encode())
        self.wfile.write((json.dumps({"response": "", "done": True}) + "\n").encode())

    def log_message(self, *args):
        pass


def test_ollama_backend_streams_ndjson(make_settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), OllamaStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = make_llm(
            make_settings(
                llm_backend="ollama",
                llm_base_url=f"http://127.0.0.1:{server.server_port}",
                llm_model="gemma3:270m",
            )
        )
        assert complete(backend, "prompt", 16, ["\n\n"]) == "Harris announced $310 million."
        sent = OllamaStandIn.seen[-1]
        assert sent["model"] == "gemma3:270m" and sent["raw"] is True and sent["options"]["num_predict"] == 16
    finally:
        server.shutdown()
