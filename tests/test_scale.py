"""Past one machine and under load: a real Chroma server, bounded LLM-server concurrency, and the UI
with 20 concurrent users on loopback."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from fakes import free_port
from rag.errors import BriefError
from rag.models.llm import complete, make_llm
from rag.questions.answer import Answerer
from rag.store.desk import Desk

STRESS = bool(os.environ.get("BRIEF_STRESS"))


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """`chroma run` from the chromadb package, on loopback."""
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("chroma server did not start: " + (folder / "server.log").read_text()[-1000:])
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.server
def test_ingest_and_ask_against_a_chroma_server(chroma_server, make_settings, seeds_dir):
    desk = Desk(make_settings(chroma_host="127.0.0.1", chroma_port=chroma_server))
    client_settings = desk.store.client.get_settings()
    assert (client_settings.chroma_server_host, int(client_settings.chroma_server_http_port)) == (
        "127.0.0.1",
        chroma_server,
    )
    first = desk.ingest([seeds_dir])
    assert first.new_sources == 5 and first.new_chunks > 0
    assert not (Path(desk.settings.data_dir) / "chroma").exists()  # nothing went to an embedded store
    assert desk.ingest([seeds_dir]).new_chunks == 0  # idempotent on the server too
    answer = Answerer(desk).ask("How much additional aid did Harris announce for the region?")
    assert any("$310 million" in c.quote for c in answer.citations)
    again = Desk(
        make_settings(
            chroma_host="127.0.0.1",
            chroma_port=chroma_server,
            data_dir=Path(desk.settings.data_dir) / "elsewhere",
        )
    )
    assert {r.source for r in again.sources()} == {
        r.source for r in desk.sources()
    }  # the data lives in the server


def test_unreachable_chroma_server_names_the_setting(make_settings):
    desk = Desk(make_settings(chroma_host="127.0.0.1", chroma_port=free_port(), chroma_timeout_s=1))
    with pytest.raises(BriefError, match="BRIEF_CHROMA_HOST"):
        desk.sources()


class SlowCompletions(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/completions stand-in that records how many requests overlap."""

    lock = threading.Lock()
    in_flight = 0
    peak = 0

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with SlowCompletions.lock:
            SlowCompletions.in_flight += 1
            SlowCompletions.peak = max(SlowCompletions.peak, SlowCompletions.in_flight)
        time.sleep(0.2)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b': ping - keep-alive\n\ndata: {"choices": [{"text": "ok"}]}\n\ndata: [DONE]\n\n')
        with SlowCompletions.lock:
            SlowCompletions.in_flight -= 1

    def log_message(self, *args):
        pass


def test_concurrency_to_an_llm_server_is_bounded(make_settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowCompletions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = make_llm(
            make_settings(
                llm_backend="openai",
                llm_base_url=f"http://127.0.0.1:{server.server_port}/v1",
                llm_max_concurrency=2,
            )
        )
        results: list[str] = []
        threads = [
            threading.Thread(target=lambda: results.append(complete(backend, "p", 4, []))) for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == ["ok"] * 8
        assert SlowCompletions.peak == 2
    finally:
        server.shutdown()


@pytest.mark.server
def test_ui_under_concurrent_users_answers_every_request(make_settings, seeds_dir, tmp_path):
    """20 simulated users ask at once (more per user under `make stress`); every request is answered
    (queued, never dropped), latency percentiles are reported, and the server's memory stays bounded."""
    from gradio_client import Client

    from ui.app import build_app

    users, per_user = 20, (10 if STRESS else 2)
    desk = Desk(make_settings(ui_concurrency=2))
    desk.ingest([seeds_dir])
    app = build_app(desk)
    app.queue(default_concurrency_limit=2, max_size=users * 2)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    latencies: list[float] = []
    failures: list[str] = []

    def user(n: int) -> None:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for i in range(per_user):
            started = time.perf_counter()
            try:
                result = client.predict(
                    "default",  # the desk control's value
                    "How much additional aid did Harris announce for the region?",
                    [],
                    "",
                    "",
                    [],
                    api_name="/ask",
                )
                assert "310 million" in json.dumps(result)
                latencies.append(time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - any failure is a lost request
                failures.append(f"user {n} request {i}: {type(exc).__name__}: {exc}")

    try:
        threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    finally:
        app.close()
    assert failures == []
    assert len(latencies) == users * per_user
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"\n{users} users x {per_user} questions: p50 {latencies[len(latencies) // 2]:.2f}s p95 {p95:.2f}s")
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert growth_mb < 400, f"memory grew {growth_mb:.0f} MB under load"
