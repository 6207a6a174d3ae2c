"""The measurements `make bench` takes of a store, whatever its size: warm retrieval (by stage), cold
CLI processes, the UI's peak memory, and how soon one process sees another's write."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from eval.metrics import percentile

ROOT = Path(__file__).resolve().parents[1]
RETRIEVAL_QUERIES = 50
QUERIES = [
    "How much aid did Harris announce?",
    "Who met López Obrador at the National Palace?",
    "How many migrants were kidnapped?",
    "What did the caravan ask for?",
    "When will the summit take place?",
    "Which policy ended in May?",
    "Who is the interior minister?",
    "How many encounters were recorded at the border?",
    "What did Mexico agree to receive each month?",
    "What is Sembrando Vida?",
]
WARM_QUESTION = "What did Mexico and the United States discuss about migration?"
SEED_QUESTIONS = [
    "How much additional aid did Harris announce for the region?",
    "How many migrants were kidnapped on the bus to Matamoros?",
    "Who is Mexico's interior minister?",
    "Where will the 2023 APEC summit be held?",
    "How many non-Mexicans did Mexico agree to receive each month?",
    "Which tree-planting program did López Obrador propose expanding?",
    "How many encounters were there at the southern border in December?",
    "Who led the U.S. delegation that met López Obrador?",
    "What share of economic growth benefited the poor?",
    "What did López Obrador ask the U.S. to suspend regarding Cuba?",
]
COLD_RUNS = 3  # cold processes timed per command; the fastest counts (the machine is shared)
NOTICE_POLL_S = 0.02  # how often the reader looks for the other process's write
NOTICE_GIVE_UP_S = 60
SERVER_START_S = 120


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def settings_for(data_dir: Path, models: Path, **extra):
    from rag.config.settings import load_settings

    return load_settings(data_dir=data_dir, model_dir=models, **extra)


def bench_retrieval(desk) -> dict:
    """Warm retrieval p50/p95 over fresh question texts, and each stage on its own."""
    from rag.questions.retrieve import Retriever, Scope

    retriever = Retriever(desk)
    retriever.retrieve("warm up the index")
    queries = [
        QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" {i}") for i in range(RETRIEVAL_QUERIES)
    ]  # new text: no embedding cache hits
    probe = desk.embedder.encode(["probe"])[0]
    stages = {
        "total": lambda q: retriever.retrieve(q),
        "embed_query": lambda q: desk.embedder.encode([q]),
        "dense_chroma": lambda q: desk.store.nearest(probe, desk.settings.fetch_k),
        "keyword_bm25": lambda q: retriever.keyword_hits(q, Scope()),
    }
    out: dict = {"chunks": desk.store.count()}
    for stage, run in stages.items():
        times = []
        for query in queries:
            started = time.perf_counter()
            run(query)
            times.append((time.perf_counter() - started) * 1000)
        prefix = "" if stage == "total" else f"{stage}_"
        out[f"{prefix}p50_ms"], out[f"{prefix}p95_ms"] = percentile(times, 50), percentile(times, 95)
    return out


class FirstToken:
    """An on_token callback that notes when the first token of a streamed answer arrived."""

    def __init__(self) -> None:
        self.at: float | None = None

    def __call__(self, token: str) -> None:
        if self.at is None:
            self.at = time.perf_counter()


def run_cli(args: list[str], data_dir: Path, models: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "BRIEF_DATA_DIR": str(data_dir), "BRIEF_MODEL_DIR": str(models)}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rag.commands.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return time.perf_counter() - started, out


def bench_listing(store: Path, models: Path) -> dict:
    """`brief sources --json` and `brief desks --json` as fresh processes on ``store``: each run's
    wall time (the fastest counts; the first `sources` on a store built before the source catalog
    also fills it, once), how many sources were listed, and what `sources` imported."""
    sources = [run_cli(["sources", "--json"], store, models) for _ in range(COLD_RUNS)]
    desks = [run_cli(["desks", "--json"], store, models) for _ in range(COLD_RUNS)]
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from rag.commands.cli import main; import io, contextlib\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['sources'])\n"
            "print('torch' in sys.modules, 'chromadb' in sys.modules)",
        ],
        env={**os.environ, "BRIEF_DATA_DIR": str(store), "BRIEF_MODEL_DIR": str(models)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    imported = probe.stdout.split()[-2:] if probe.returncode == 0 else ["?", "?"]
    last = sources[-1][1]
    return {
        "sources_s": min(seconds for seconds, _ in sources),
        "sources_runs_s": [seconds for seconds, _ in sources],
        "sources_ok": all(out.returncode == 0 for _, out in sources),
        "sources_listed": len(json.loads(last.stdout)) if last.returncode == 0 else None,
        "sources_imports_torch": imported[0] == "True",
        "sources_imports_chromadb": imported[1] == "True",
        "desks_s": min(seconds for seconds, _ in desks),
        "desks_ok": all(out.returncode == 0 for _, out in desks),
    }


def bench_cold(store: Path, models: Path, question: str = SEED_QUESTIONS[0]) -> dict:
    """`brief sources`, `brief desks` (bench_listing) and `brief ask` as fresh processes on ``store``
    (the fastest of COLD_RUNS each), and where the cold ask's time went by its own timings."""
    listing = bench_listing(store, models)
    asks = [run_cli(["ask", question, "--json"], store, models) for _ in range(COLD_RUNS)]
    ask_s, answered = min(asks, key=lambda run: run[0])
    stages = json.loads(answered.stdout).get("timings_ms", {}) if answered.returncode == 0 else {}
    return {
        **listing,
        "ask_cold_s": ask_s,
        "ask_ok": answered.returncode == 0,
        "ask_stages_ms": stages,
        "ask_outside_stages_s": ask_s - sum(stages.values()) / 1000,  # start-up: imports, opening, loading
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_memory(store: Path, models: Path) -> dict:
    """Peak RSS of `brief ui` serving ``store``, after it has answered through the real page API."""
    port = free_port()
    env = {**os.environ, "BRIEF_DATA_DIR": str(store), "BRIEF_MODEL_DIR": str(models)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.commands.cli", "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from gradio_client import Client

        deadline = time.monotonic() + 180
        client = None
        while time.monotonic() < deadline and client is None:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                time.sleep(1)
        answered = False
        if client is not None:
            for question in SEED_QUESTIONS[:3]:
                client.predict(question, [], "", "", [], api_name="/ask")
            answered = True
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        return {"peak_rss_mb": peak_kb / 1024, "answered": answered}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class ChromaServer:
    """`chroma run` over a store's own Chroma folder, on loopback, for as long as the block lasts:
    several processes can share a store only through a server (embedded Chroma is one process's)."""

    def __init__(self, store: Path):
        self.store, self.port, self.proc = store, free_port(), None

    def __enter__(self) -> ChromaServer:
        import httpx

        chroma = Path(sys.executable).parent / "chroma"
        command = [str(chroma), "run", "--path", str(self.store / "chroma"), "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("chroma server did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


WRITER = """
import sys, time
from pathlib import Path
from rag.store.desk import Desk
from rag.config.settings import load_settings
settings = load_settings(data_dir=Path(sys.argv[1]), model_dir=Path(sys.argv[2]),
                         chroma_host="127.0.0.1", chroma_port=int(sys.argv[3]))
desk = Desk(settings)
desk.embedder.embed(["warm up"])
desk.store.revision()
print("ready", flush=True)
sys.stdin.readline()
desk.ingest([Path(sys.argv[4])])
print(time.time(), flush=True)
sys.stdin.readline()
desk.remove_source(Path(sys.argv[4]).name)
"""


def bench_notice(store: Path, models: Path, reader_dir: Path) -> dict:
    """How soon a process serving ``store`` (through a Chroma server, its keyword index in
    ``reader_dir``) finds an article another process has just ingested: from the end of the other's
    ingest to the first search that returns it. The article is removed again afterwards."""
    from rag.questions.retrieve import Retriever, Scope
    from rag.store.desk import Desk

    word = f"zq{uuid.uuid4().hex[:10]}"
    with ChromaServer(store) as server, tempfile.TemporaryDirectory() as tmp:
        article = Path(tmp) / f"notice-{word}.txt"
        article.write_text(f"The {word} convoy reached the border crossing on Monday.\n", encoding="utf-8")
        reader = Desk(settings_for(reader_dir, models, chroma_host="127.0.0.1", chroma_port=server.port))
        retriever = Retriever(reader)
        retriever.retrieve(f"Where did the {word} convoy arrive?")  # warm: models loaded, index in step
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), str(models), str(server.port), str(article)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            writer.stdout.readline()  # ready
            writer.stdin.write("go\n")
            writer.stdin.flush()
            seen_at = poll_until_found(retriever, word, Scope(sources=(article.name,)))
            committed_at = float(writer.stdout.readline())
        finally:
            writer.stdin.write("clean\n")
            writer.stdin.flush()
            writer.wait(timeout=300)
    return {"notice_s": None if seen_at is None else max(seen_at - committed_at, 0.0)}


def poll_until_found(retriever, word: str, scope) -> float | None:
    """The wall-clock time at which the keyword index first finds the word in ``scope`` (None: never).
    The keyword side is the one that can lag: the dense side is Chroma's own, current on every query."""
    deadline = time.monotonic() + NOTICE_GIVE_UP_S
    while time.monotonic() < deadline:
        if retriever.keyword_hits(word, scope):
            return time.time()
        time.sleep(NOTICE_POLL_S)
    return None
