"""Ingestion on the real seeds and on bad input: cleaning, offsets, idempotence, replacement, errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag.store.desk import Desk
from vectorstore.chunk import chunk_text, split_sentences
from vectorstore.clean import clean_document

SEED_META = {
    "000_df1640d7f614f3c2.txt": ("2023-09-26", None),
    "001_144ff8e1c6f8de48.txt": (None, None),
    "002_3beb3d5ee71508d2.txt": (None, "Latin Times"),
    "003_ab779828a3a3face.txt": (None, "Reuters"),
    "004_cca99b150670c7ed.txt": (None, "Elcomercio"),
}
BOILERPLATE = [
    "Skip to content",
    "Share this article",
    "LOOK HERE:",
    "MORE INFORMATION:",
    "most popular",
    "globalhappenings news.jpg",
    "CC BY-SA 4.0",
    "All rights reserved",
    "Source: Reuters",
    "The presidents of Mexico and the U.S. Twitter",
    "date 2023-09-26",
]


def cleaned(seeds_dir, name):
    return clean_document((seeds_dir / name).read_text(encoding="utf-8"))


# --- cleaning on the real seeds --------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SEED_META))
def test_seed_metadata_and_boilerplate(seeds_dir, name):
    doc = cleaned(seeds_dir, name)
    assert (doc.date, doc.outlet) == SEED_META[name]
    for junk in BOILERPLATE:
        assert junk not in doc.text, junk
    assert doc.title and len(doc.title) <= 160


def test_titles_of_titled_seeds(seeds_dir):
    assert (
        cleaned(seeds_dir, "001_144ff8e1c6f8de48.txt").title
        == "Mexico president calls for more North American support in migration crisis"
    )
    assert (
        cleaned(seeds_dir, "004_cca99b150670c7ed.txt").title
        == "AMLO and Blinken meet in Mexico to discuss the recovery of the migratory flow"
    )
    assert cleaned(seeds_dir, "002_3beb3d5ee71508d2.txt").title == "AMLO and Biden"


def test_article_sentences_survive_cleaning_verbatim(seeds_dir):
    """Every line of a seed that is not boilerplate is still in the cleaned text, character for character."""
    for name in SEED_META:
        raw = (seeds_dir / name).read_text(encoding="utf-8")
        text = cleaned(seeds_dir, name).text
        for line in raw.splitlines():
            line = re.sub(r"^\s*date \d{4}-\d{2}-\d{2}\s*", "", line).strip()
            if len(line) > 120:  # body paragraphs (boilerplate lines are all short)
                # glued words are repaired by inserting spaces, so compare without whitespace
                assert "".join(line.split()) in "".join(text.split()), line[:60]


# --- chunking ----------------------------------------------------------------------------------------
def test_chunk_text_equals_cleaned_text_at_its_offsets(seeds_dir):
    for name in SEED_META:
        text = cleaned(seeds_dir, name).text
        chunks = chunk_text(text, name, chunk_size=700, chunk_overlap=150)
        assert chunks
        for c in chunks:
            assert text[c.start : c.end] == c.text and len(c.text) <= 700
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_abbreviations_do_not_end_sentences():
    text = "The U.S. delegation met on Nov. 15-17 in San Francisco. Mr. Jara spoke. Then AMLO left."
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    assert sentences == [
        "The U.S. delegation met on Nov. 15-17 in San Francisco.",
        "Mr. Jara spoke.",
        "Then AMLO left.",
    ]


prose = st.lists(
    st.text(
        alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]), min_size=0, max_size=120
    ),
    min_size=1,
    max_size=30,
).map(lambda parts: ". ".join(parts) + ("\n\n" if len(parts) % 3 == 0 else ""))


@hsettings(max_examples=150, deadline=None)
@given(text=prose, size=st.integers(100, 900), overlap=st.integers(0, 99))
def test_chunks_cover_every_character_and_offsets_are_valid(text, size, overlap):
    chunks = chunk_text(text, "x.txt", chunk_size=size, chunk_overlap=overlap)
    covered = set()
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text) and text[c.start : c.end] == c.text and len(c.text) <= size
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace()), "text lost between chunks"


@hsettings(max_examples=150, deadline=None)
@given(text=prose)
def test_sentence_spans_are_ordered_trimmed_and_disjoint(text):
    spans = split_sentences(text)
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start
    for s in spans:
        assert text[s.start : s.end] == text[s.start : s.end].strip() and s.end > s.start


@hsettings(max_examples=100, deadline=None)
@given(text=prose)
def test_cleaner_never_invents_text(text):
    doc = clean_document(text)
    flat = "".join(text.split())  # glue repair may insert spaces, never anything else
    for line in doc.text.splitlines():
        assert "".join(line.split()) in flat


# --- ingest -----------------------------------------------------------------------------------------
@pytest.fixture
def corpus(tmp_path, seeds_dir) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(seeds_dir, folder)
    return folder


def test_reingest_is_idempotent_and_changes_replace_old_chunks(make_settings, corpus):
    desk = Desk(make_settings())
    first = desk.ingest([corpus])
    assert first.new_sources == 5 and first.new_chunks == desk.store.count() > 0
    again = desk.ingest([corpus])
    assert (again.new_chunks, again.unchanged_sources) == (0, 5) and "0 new chunks" in again.summary()

    target = corpus / "002_3beb3d5ee71508d2.txt"
    old_ids = desk.store.chunk_ids_of(target.name)
    target.write_text(
        "A new report. Remittances reached a record of 63 billion dollars in 2023.\n", encoding="utf-8"
    )
    changed = desk.ingest([corpus])
    assert changed.updated_sources == 1 and changed.removed_chunks == len(
        old_ids - desk.store.chunk_ids_of(target.name)
    )
    texts = [c.text for c in desk.store.all_chunks() if c.source == target.name]
    assert texts == ["A new report. Remittances reached a record of 63 billion dollars in 2023."]
    assert desk.store.keyword_search("remittances", 3)[0][0] in desk.store.chunk_ids_of(target.name)
    assert all(cid not in old_ids for cid, _ in desk.store.keyword_search("Mayorkas Blinken", 50))
    assert desk.store.keyword_differences() == (set(), set())


def test_prune_removes_sources_whose_files_are_gone(make_settings, corpus):
    desk = Desk(make_settings())
    desk.ingest([corpus])
    (corpus / "001_144ff8e1c6f8de48.txt").unlink()
    assert desk.ingest([corpus]).pruned == []  # without --prune nothing is removed
    report = desk.ingest([corpus], prune=True)
    assert report.pruned == ["001_144ff8e1c6f8de48.txt"]
    assert "001_144ff8e1c6f8de48.txt" not in {r.source for r in desk.sources()}
    assert all(c.source != "001_144ff8e1c6f8de48.txt" for c in desk.store.all_chunks())


def test_a_write_by_another_desk_invalidates_cached_indexes(make_settings, corpus):
    """Two UI processes share one store: what one ingests or removes, the other's keyword index sees."""
    reader, writer = Desk(make_settings()), Desk(make_settings())
    writer.ingest([corpus])
    before = reader.store.revision()
    assert reader.store.revision() == before  # stable while nothing changes
    assert reader.store.keyword_search("remittances", 3) == []
    (corpus / "new.txt").write_text(
        "Remittances reached a record of 63 billion dollars in 2023.\n", encoding="utf-8"
    )
    writer.ingest([corpus / "new.txt"])
    assert reader.store.revision() != before
    assert reader.store.keyword_search("remittances", 3)[0][0] in writer.store.chunk_ids_of("new.txt")
    assert "new.txt" in reader.source_records(["new.txt"])
    writer.remove_source("new.txt")
    assert reader.store.keyword_search("remittances", 3) == []
    assert "new.txt" not in reader.source_records(["new.txt"])


def bad_files(folder: Path) -> dict[str, str]:
    """Each bad file and the words its one-line reason must contain."""
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" * 10)
    (folder / "latin1.txt").write_bytes(
        "Se reunió con el presidente en la Ciudad de México.".encode("latin-1")
    )
    (folder / "big.txt").write_text("word " * 5000, encoding="utf-8")
    (folder / "slides.pptx").write_bytes(b"PK\x03\x04 not supported")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n")
    (folder / "fake.pdf").write_text("not a pdf at all", encoding="utf-8")
    return {
        "empty.txt": "empty",
        "binary.txt": "binary",
        "latin1.txt": "UTF-8",
        "big.txt": "limit",
        "slides.pptx": "unsupported",
        "broken.pdf": "PDF",
        "fake.pdf": "PDF",
    }


def test_bad_files_are_reported_one_line_each_and_the_rest_ingested(make_settings, corpus):
    desk = Desk(make_settings(max_file_mb=0.02))
    desk.ingest([corpus])
    before = desk.store.count()
    expected = bad_files(corpus)
    report = desk.ingest([corpus])
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == set(expected)
    for name, words in expected.items():
        assert words in reasons[name] and "\n" not in reasons[name]
    assert desk.store.count() == before and report.unchanged_sources == 5


def test_unreadable_file_is_skipped(make_settings, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    path = tmp_path / "secret.txt"
    path.write_text("text", encoding="utf-8")
    path.chmod(0)
    report = Desk(make_settings()).ingest([path])
    assert "permission" in report.skipped[0].reason


def test_html_markdown_and_pdf_loaders(make_settings, tmp_path):
    from fpdf import FPDF

    tmp_path = tmp_path / "docs"
    tmp_path.mkdir()
    (tmp_path / "page.html").write_text(
        "<html><head><title>Border talks</title><meta property='article:published_time' content='2024-01-10T08:00:00Z'>"
        "<script>alert('x')</script><style>p{}</style></head><body><nav>Home | World</nav><p>Skip to content</p>"
        "<p>Officials met in Mexico City on Tuesday to discuss migration.</p></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "notes.md").write_text("# Notes\n\nThe caravan counted 6,000 people.\n", encoding="utf-8")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Mexico agreed to receive 30,000 migrants each month.")
    pdf.output(str(tmp_path / "report.pdf"))
    desk = Desk(make_settings())
    report = desk.ingest([tmp_path])
    assert report.skipped == [] and report.new_sources == 3
    records = {r.source: r for r in desk.store.list_sources(with_text=True)}
    html = records["page.html"]
    assert html.title == "Border talks" and html.date == "2024-01-10"
    assert (
        "alert" not in html.text
        and "Home | World" not in html.text
        and "Officials met in Mexico City" in html.text
    )
    assert "6,000 people" in records["notes.md"].text
    assert "30,000 migrants" in records["report.pdf"].text


def test_thousand_file_folder_with_some_bad(make_settings, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1000):
        body = f"Report {i}. Officials counted {i * 7} migrants at crossing {i % 13}.\n" if i % 100 else ""
        (folder / f"r{i:04d}.txt").write_text(body, encoding="utf-8")
    report = Desk(make_settings(embed_batch_size=256)).ingest([folder])
    assert report.files == 1000 and report.new_sources == 990 and len(report.skipped) == 10


def test_symlink_out_of_folder_and_odd_names(make_settings, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("Secret outside text about migration.", encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "link.txt").symlink_to(outside)
    odd = ["naïve report (draft) #2.txt", 'quote\'s "name".md', "espacio  doble.txt"]
    for name in odd:
        (folder / name).write_text("Migration talks resumed this week.", encoding="utf-8")
    desk = Desk(make_settings())
    report = desk.ingest([folder])
    assert [Path(s.path).name for s in report.skipped] == ["link.txt"] and "outside" in report.skipped[
        0
    ].reason
    assert {r.source for r in desk.sources()} == set(odd)


def test_changed_chunking_builds_a_fresh_collection(make_settings, corpus, tmp_path):
    data = tmp_path / "shared"
    small = Desk(make_settings(data_dir=data, chunk_size=400, chunk_overlap=50))
    small.ingest([corpus])
    big = Desk(make_settings(data_dir=data, chunk_size=1200, chunk_overlap=100))
    assert big.store.name != small.store.name and big.store.count() == 0
    assert big.ingest([corpus]).new_chunks == big.store.count() < small.store.count()
    assert big.store.chunks.metadata["chunk_size"] == 1200


@pytest.mark.model
def test_real_embedder_collection_records_the_model(make_settings, corpus):
    desk = Desk(make_settings(embedder="minilm"))
    desk.ingest([corpus])
    assert desk.store.chunks.metadata["embedder"] == "all-MiniLM-L6-v2"


def cli(args, data_dir, **env):
    full = {
        **os.environ,
        "BRIEF_DATA_DIR": str(data_dir),
        "BRIEF_EMBEDDER": "hash",
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "rag.commands.cli", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_ingest_and_sources(tmp_path, corpus):
    out = cli(["ingest", str(corpus)], tmp_path / "d")
    assert out.returncode == 0 and "5 files, " in out.stdout and "0 skipped" in out.stdout
    again = cli(["ingest", str(corpus)], tmp_path / "d")
    assert "0 new chunks" in again.stdout
    listing = cli(["sources"], tmp_path / "d")
    assert "003_ab779828a3a3face.txt\t-\tReuters" in listing.stdout


def test_cli_sources_loads_no_model_and_no_keyword_index(tmp_path, corpus):
    """`brief sources` lists records: no runtime of a model, no LLM stack, not even the keyword index."""
    assert cli(["ingest", str(corpus)], tmp_path / "d").returncode == 0
    probe = (
        "import sys, io, contextlib\nfrom rag.commands.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['sources'])\n"
        "print(sorted(m for m in ('torch', 'onnxruntime', 'tantivy', 'langchain_core', 'llama_cpp') if m in sys.modules))"
    )
    env = {**os.environ, "BRIEF_DATA_DIR": str(tmp_path / "d"), "HF_HUB_OFFLINE": "1"}  # the default embedder
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr[-500:]


@pytest.mark.parametrize(
    "env, words",
    [
        ({"BRIEF_CHUNK_SIZE": "abc"}, "chunk_size"),
        ({"BRIEF_LLM_BACKEND": "gpt9"}, "llm_backend"),
        ({"BRIEF_CHUNK_OVERLAP": "900", "BRIEF_CHUNK_SIZE": "500"}, "chunk_overlap"),
    ],
)
def test_bad_settings_are_one_line_errors_naming_the_setting(tmp_path, env, words):
    out = cli(["sources"], tmp_path / "d", **env)
    assert (
        out.returncode == 2
        and out.stderr.count("\n") == 1
        and words in out.stderr
        and "Traceback" not in out.stderr
    )


def test_unknown_key_in_brief_toml(tmp_path):
    toml = tmp_path / "brief.toml"
    toml.write_text("retrieval_k = 5\nretreival_k = 7\n", encoding="utf-8")
    out = cli(["config"], tmp_path / "d", BRIEF_CONFIG=str(toml))
    assert out.returncode == 2 and "unknown setting 'retreival_k'" in out.stderr


def test_config_masks_secrets_and_env_beats_toml(tmp_path):
    toml = tmp_path / "brief.toml"
    toml.write_text("retrieval_k = 5\nfetch_k = 30\n", encoding="utf-8")
    out = cli(
        ["config", "--json"],
        tmp_path / "d",
        BRIEF_CONFIG=str(toml),
        BRIEF_RETRIEVAL_K="9",
        BRIEF_LLM_API_KEY="sk-abc",
    )
    assert '"retrieval_k": 9' in out.stdout and '"fetch_k": 30' in out.stdout
    assert "sk-abc" not in out.stdout and '"llm_api_key": "***"' in out.stdout


def test_corrupt_store_is_reported_with_how_to_rebuild(tmp_path, corpus):
    data = tmp_path / "d"
    assert cli(["ingest", str(corpus)], data).returncode == 0
    (data / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    out = cli(["sources"], data)
    assert (
        out.returncode == 2
        and "cannot be opened" in out.stderr
        and "brief ingest" in out.stderr
        and "Traceback" not in out.stderr
    )


def test_store_from_another_schema_version_is_reported(tmp_path, corpus):
    data = tmp_path / "d"
    assert cli(["ingest", str(corpus)], data).returncode == 0
    (data / "store.json").write_text('{"schema": 99}', encoding="utf-8")
    out = cli(["sources"], data)
    assert out.returncode == 2 and "schema version 99" in out.stderr


def store_invariants(desk: Desk) -> None:
    """Every source complete; chunk ids unique; each chunk's source has a record; counts agree; the
    keyword index holds exactly the store's chunks and knows each source's version; the source catalog
    lists exactly the records."""
    records = {r.source: r for r in desk.sources()}
    chunks = desk.store.all_chunks()
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert {c.source for c in chunks} <= set(records), "orphan chunks"
    for source, record in records.items():
        assert record.status == "complete"
        assert sum(c.source == source for c in chunks) == record.n_chunks
    missing, extra = desk.store.keyword_differences()
    assert (missing, extra) == (set(), set()), f"keyword index: {len(missing)} missing, {len(extra)} extra"
    listed = Desk(desk.settings).listed_sources()  # `brief sources`: the catalog beside the index
    assert listed == sorted(records.values(), key=lambda r: r.source), "source catalog"
    assert desk.store.keyword.stamps() == {source: r.stamp for source, r in records.items()}


@pytest.mark.parametrize("kills", [int(os.environ.get("BRIEF_KILLS", "3"))])
def test_ingest_killed_at_random_points_is_completed_by_the_next_run(tmp_path, kills):
    import random
    import signal
    import time

    folder = tmp_path / "many"
    folder.mkdir()
    n_files = 2000 if os.environ.get("BRIEF_STRESS") else 300
    for i in range(n_files):
        (folder / f"a{i:04d}.txt").write_text(
            f"Report {i}. "
            + " ".join(f"Officials counted {i * j} migrants at crossing {j}." for j in range(12)),
            encoding="utf-8",
        )
    data = tmp_path / "d"
    env = {
        **os.environ,
        "BRIEF_DATA_DIR": str(data),
        "BRIEF_EMBEDDER": "hash",
        "BRIEF_WRITE_BATCH_CHUNKS": "8",
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "rag.commands.cli", "ingest", str(folder), "--quiet"]
    started = time.monotonic()
    subprocess.run(
        command, env={**env, "BRIEF_DATA_DIR": str(tmp_path / "timing")}, check=True, capture_output=True
    )
    full_run_s = time.monotonic() - started  # kills land inside a run however fast this machine is
    rng = random.Random(7)
    seen = []
    for _ in range(kills):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.45, 0.9) * full_run_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        listing = cli(["sources", "--json"], data)
        assert listing.returncode == 0  # the half-written store opens
        seen.append(len(json.loads(listing.stdout)) if listing.stdout.strip() else 0)
    assert any(0 < n < n_files for n in seen), f"no kill landed mid-ingest: {seen}"
    final = cli(["ingest", str(folder)], data)
    assert final.returncode == 0, final.stderr
    from rag.config.settings import load_settings

    desk = Desk(load_settings(data_dir=data, embedder="hash"))
    assert len(desk.sources()) == n_files
    assert desk.store.keyword.synced_revision() == desk.store.revision()  # the last run left it in step
    store_invariants(desk)
    assert "0 new chunks" in cli(["ingest", str(folder)], data).stdout
