"""The Gradio app: chat with cited answers, briefings, the library of sources, settings and the eval suite.

Modelled on smolagents' GradioUI: one class, one method per tab that lays it out, one handler method per
action. Handlers only convert between Gradio values and the core services (rag.*); formatting and
escaping live in ui/render.py. This module is the Gradio adapter, so it imports gradio at the top
(Gradio reads a handler's signature for its event data and progress bar); nothing outside the
`brief ui` command imports it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio loads: it reads this on import

import gradio as gr  # noqa: E402 - the line above must run first

from rag.errors import BriefError  # noqa: E402
from rag.questions.answer import Answer, DraftToken  # noqa: E402
from rag.questions.question_form import MODES  # noqa: E402
from rag.questions.retrieve import Scope  # noqa: E402
from rag.store.desks import DeskPool  # noqa: E402
from rag.store.history import new_conversation_id  # noqa: E402
from ui import render  # noqa: E402
from ui.desks import EMPTY_SOURCES, DeskControls, reply_html  # noqa: E402

SAFE_NAME = re.compile(r"[^\w.\- ]+")
PENDING_REPLY = "…"  # shown in the assistant's bubble until the first draft token arrives
SOURCE_COLUMNS = ["source", "title", "date", "outlet", "chunks"]


def safe_upload_name(name: str) -> str:
    """Basename only, odd characters dropped: an upload can never leave the uploads folder."""
    base = SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    if not base:
        raise BriefError(f"cannot use the file name {name!r}", fix="rename the file")
    return base


def parse_scope(since: str, until: str, sources: list[str] | None) -> Scope:
    return Scope.parse(
        since=(since or "").strip() or None, until=(until or "").strip() or None, sources=sources or None
    )


def error_record(exc: Exception) -> dict:
    """The answers-list record of a turn that failed: its text, and no sources."""
    message = str(exc) if isinstance(exc, BriefError) else f"internal error: {type(exc).__name__}: {exc}"
    return {"answer": f"Error: {message}", "refused": False, "citations": [], "error": message}


def with_reply(history: list[dict], content: str) -> list[dict]:
    """The chat with its last (assistant) message replaced: a new list, so each yield is its own value."""
    return history[:-1] + [{"role": "assistant", "content": content}]


def user_questions(history: list[dict]) -> list[str]:
    return [m["content"] for m in history if m["role"] == "user"]


class BriefingDeskUI(DeskControls):
    """The app over the desks of one data folder, opening on ``desk``. Every request names its desk
    (the desk control's value); one Answerer per desk serves every request: the per-request state
    lives in the handlers' local variables and the Answer, never on this object."""

    def __init__(self, desk):
        self.desk = desk  # the desk the app opens on: its settings are every desk's
        self.pool = DeskPool(desk)
        # every dropdown of source names: each is refreshed when the library changes
        self.source_pickers: list[gr.Dropdown] = []

    # --- layout: one method per tab ------------------------------------------------------------
    def build(self) -> gr.Blocks:
        self.source_pickers = []
        with gr.Blocks(title="Briefing Desk") as app:
            gr.Markdown(self.header())
            self.desk_bar()
            with gr.Tab("Chat"):
                self.chat_tab()
            with gr.Tab("Briefing"):
                self.briefing_tab()
            with gr.Tab("Library"):
                self.library_tab()
            with gr.Tab("Settings"):
                self.settings_tab()
            with gr.Tab("Eval"):
                self.eval_tab()
            self.wire_desks(self.chat_parts, [self.library_table, *self.source_pickers])
        return app

    def header(self) -> str:
        s = self.desk.settings
        store = "Chroma server" if s.server_mode else "embedded Chroma"
        return (
            "## Briefing Desk\nAnswers about your articles, every sentence checked against the passage it cites. "
            f"LLM: `{render.escape(s.llm_backend)}` · embedder: `{render.escape(s.embedder)}` · store: `{store}`"
        )

    def source_picker(self, label: str, multiselect: bool = False, elem_id: str | None = None) -> gr.Dropdown:
        """A dropdown of the ingested sources, none chosen (Gradio would choose the first one)."""
        empty = [] if multiselect else None
        picker = gr.Dropdown(
            label=label,
            choices=self.source_names(self.desk.name),
            value=empty,
            multiselect=multiselect,
            elem_id=elem_id,
        )
        self.source_pickers.append(picker)
        return picker

    def chat_tab(self) -> None:
        answers = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                self.past_list()
                chatbot = gr.Chatbot(label="Conversation", height=420, sanitize_html=True, elem_id="bd-chat")
                question = gr.Textbox(
                    label="Question",
                    placeholder="How much additional aid did Harris announce for the region?",
                    elem_id="bd-question",
                )
                with gr.Row():
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="bd-ask")
                    clear_btn = gr.Button("New conversation")
                    mode = self.mode_picker()
                with gr.Accordion("Filters", open=False):
                    since, until = (
                        gr.Textbox(label="Since (YYYY-MM-DD)"),
                        gr.Textbox(label="Until (YYYY-MM-DD)"),
                    )
                    only = self.source_picker("Only these sources", multiselect=True)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                panel = gr.HTML(EMPTY_SOURCES, elem_id="bd-sources")
                copy_box = gr.Textbox(
                    label="Answer with references (copy)", lines=4, buttons=["copy"], elem_id="bd-copy"
                )
        inputs, outputs = (
            [self.desk_picker, self.conversation, question, chatbot, answers, since, until, only, mode],
            [chatbot, answers, panel, copy_box, question],
        )
        past = ([self.desk_picker, self.conversation], [self.past])
        ask_btn.click(self.ask, inputs, outputs).then(self.refresh_past, *past)
        question.submit(self.ask, inputs, outputs).then(self.refresh_past, *past)
        chatbot.select(self.select_answer, [self.desk_picker, answers], [panel, copy_box])
        self.chat_parts = [chatbot, answers, panel, copy_box]
        clear_btn.click(self.new_conversation, None, [*self.chat_parts, self.conversation, self.past])

    def mode_picker(self) -> gr.Dropdown:
        """How the chat takes a question: 'auto' lets the question-form classifier choose factoid,
        descriptive, timeline or comparison; a form overrides it (the question_mode setting by default)."""
        return gr.Dropdown(
            label="Answer as", choices=list(MODES), value=self.desk.settings.question_mode, elem_id="bd-mode"
        )

    def briefing_tab(self) -> None:
        with gr.Row():
            topic = gr.Textbox(label="Topic (empty = everything)", elem_id="bd-topic")
            since, until = gr.Textbox(label="Since (YYYY-MM-DD)"), gr.Textbox(label="Until (YYYY-MM-DD)")
            only = self.source_picker("Only these sources", multiselect=True)
        with gr.Row():  # what changed: since a date, or since a briefing saved earlier (its JSON)
            changed_since = gr.Textbox(label="What changed since (YYYY-MM-DD)", elem_id="bd-changes-since")
            earlier = gr.File(
                label="… or since a saved briefing (.json)",
                file_types=[".json"],
                type="filepath",
                elem_id="bd-changes-file",
            )
        brief_btn = gr.Button("Generate briefing", variant="primary", elem_id="bd-brief")
        briefing_md = gr.Markdown(elem_id="bd-briefing")
        files = gr.File(
            label="Download: Markdown, HTML page, JSON", file_count="multiple", elem_id="bd-briefing-files"
        )
        brief_btn.click(
            self.brief,
            [self.desk_picker, topic, since, until, only, changed_since, earlier],
            [briefing_md, files],
        )

    def library_tab(self) -> None:
        files = gr.File(
            label="Add articles (.txt .md .html .pdf)", file_count="multiple", elem_id="bd-upload"
        )
        with gr.Row():
            link = gr.Textbox(
                label="Or add an article from a link (web page or PDF)",
                placeholder="https://…",
                elem_id="bd-link",
                scale=4,
            )
            fetch_btn = gr.Button("Fetch", elem_id="bd-fetch", scale=1)
        status = gr.Textbox(label="Result", lines=4, elem_id="bd-upload-status")
        table = gr.Dataframe(
            self.sources_table(self.desk.name),
            headers=SOURCE_COLUMNS,
            interactive=False,
            elem_id="bd-library",
        )
        self.library_table = table
        with gr.Row():
            victim = self.source_picker("Remove a source", elem_id="bd-remove-source")
            remove_btn = gr.Button("Remove", elem_id="bd-remove")
        with gr.Row():
            dated = self.source_picker("Set or correct a source's date", elem_id="bd-date-source")
            new_date = gr.Textbox(label="Publication date (YYYY-MM-DD)", elem_id="bd-date")
            date_btn = gr.Button("Set date", elem_id="bd-set-date")
        files.upload(self.upload, [self.desk_picker, files], [status, table, *self.source_pickers])
        for event in (fetch_btn.click, link.submit):
            event(self.add_link, [self.desk_picker, link], [status, table, *self.source_pickers])
        remove_btn.click(self.remove, [self.desk_picker, victim], [status, table, *self.source_pickers])
        dated.change(self.date_of, [self.desk_picker, dated], [new_date])
        date_btn.click(self.set_date, [self.desk_picker, dated, new_date], [status, table])

    def settings_tab(self) -> None:
        s = self.desk.settings
        in_use = gr.Markdown(
            f"LLM in use: `{render.escape(s.llm_backend)}` · embedder: `{render.escape(s.embedder)}`",
            elem_id="bd-in-use",
        )
        backend = gr.Dropdown(
            label="LLM backend",
            choices=self.desk.backend_choices(),
            value=s.llm_backend,
            elem_id="bd-backend",
        )
        backend.change(self.switch, [backend], [in_use])

    def eval_tab(self) -> None:
        limit = gr.Number(label="Questions (empty = all)", precision=0)
        eval_btn = gr.Button("Run the citation eval")
        table, chart, download = (
            gr.Markdown(),
            gr.Image(label="Metrics", type="filepath"),
            gr.File(label="Report"),
        )
        eval_btn.click(self.run_eval, [self.desk_picker, limit], [table, chart, download])

    # --- chat handlers -------------------------------------------------------------------------
    def ask(self, desk_name, conversation, question, history, answers, since, until, sources, mode=None):
        """One chat turn at the session's desk: the draft while the LLM writes it, then the verified
        answer and its sources, kept in the desk's history under the session's conversation. Every
        turn ends with one record in ``answers``, an error included, so later turns keep theirs."""
        history = history or []
        if not (question or "").strip():
            gr.Warning("Type a question about the ingested articles.")
            yield history, answers, gr.update(), gr.update(), ""
            return
        turn = history + [
            {"role": "user", "content": question},
            {"role": "assistant", "content": PENDING_REPLY},
        ]
        draft = ""
        try:
            answerer = self.pool.answerer(desk_name)
            for event in answerer.stream(
                question, parse_scope(since, until, sources), user_questions(history), mode=mode
            ):
                if isinstance(event, DraftToken):
                    draft += event.text
                    yield self.drafting(turn, answers, draft)
                else:
                    answerer.desk.record_turn(conversation, event.answer.to_json())
                    yield self.answered(answerer.desk.name, turn, answers, event.answer)
        except Exception as exc:  # every turn must end with a record, whatever failed
            yield self.failed(turn, answers, exc)

    def drafting(self, turn: list[dict], answers: list[dict], draft: str) -> tuple:
        shown = f"<i>drafting, not yet verified:</i> {render.escape(draft)}"
        return with_reply(turn, shown), answers, gr.update(), gr.update(), ""

    def answered(self, desk_name: str, turn: list[dict], answers: list[dict], answer: Answer) -> tuple:
        # the warning of this answer only: it travels inside the Answer (and its JSON), never on a shared object
        data = answer.to_json()
        panel = self.sources_panel(desk_name, data)
        return with_reply(turn, reply_html(data)), answers + [data], panel, render.copy_text(data), ""

    def failed(self, turn: list[dict], answers: list[dict], exc: Exception) -> tuple:
        record = error_record(exc)
        panel = render.sources_panel(record["citations"], {})
        return (
            with_reply(turn, render.escape(record["answer"])),
            answers + [record],
            panel,
            render.copy_text(record),
            "",
        )

    def select_answer(self, desk_name, answers, evt: gr.SelectData):
        """Clicking a message shows the sources of its turn's answer."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        turn = index // 2  # a user message and its answer per turn
        if 0 <= turn < len(answers):
            return self.sources_panel(desk_name, answers[turn]), render.copy_text(answers[turn])
        return gr.update(), gr.update()

    def new_conversation(self):
        return [], [], EMPTY_SOURCES, "", new_conversation_id(), None

    def sources_panel(self, desk_name: str, answer_json: dict) -> str:
        """The answer's cited passages, highlighted in the desk's articles (a removed article's
        citation keeps its quote)."""
        closest = not answer_json["citations"] and bool(answer_json.get("closest"))
        citations = answer_json.get("closest", []) if closest else answer_json["citations"]
        records = self.pool.get(desk_name).source_records(c["source"] for c in citations)
        return render.sources_panel(citations, records, closest)

    # --- library handlers ----------------------------------------------------------------------
    def upload(self, desk_name, files):
        """Copy the uploads into the desk's folder and ingest them; one line per file that failed."""
        if not files:
            return "No files chosen.", self.sources_table(desk_name), *self.refreshed_pickers(desk_name)
        desk = self.pool.get(desk_name)
        lines, paths = [], []
        for f in files:
            try:
                paths.append(keep_upload(desk.uploads_dir, Path(getattr(f, "name", f))))
            except (BriefError, OSError) as exc:
                lines.append(f"✗ {Path(str(f)).name}: {exc}")
        if paths:
            report = desk.ingest(paths)
            lines += [f"✗ {Path(s.path).name}: {s.reason}" for s in report.skipped]
            lines.append("✓ " + report.summary())
        return "\n".join(lines), self.sources_table(desk_name), *self.refreshed_pickers(desk_name)

    def add_link(self, desk_name, url):
        """Fetch the link and ingest its page (rag/sources/links.py); the reason on the status line if it fails."""
        from rag.sources.links import ingest_links

        if not (url or "").strip():
            return (
                "Paste a link to a web page or PDF.",
                gr.update(),
                *[gr.update()] * len(self.source_pickers),
            )
        report = ingest_links(self.pool.get(desk_name), [url.strip()])
        lines = [f"✗ {s.path}: {s.reason}" for s in report.skipped] + ["✓ " + report.summary()]
        return "\n".join(lines), self.sources_table(desk_name), *self.refreshed_pickers(desk_name)

    def remove(self, desk_name, source):
        if not source:
            return "Choose a source to remove.", gr.update(), *[gr.update()] * len(self.source_pickers)
        removed = self.pool.get(desk_name).remove_source(source)
        # cleared, since the removed source may be chosen in any of them
        return (
            f"Removed {source} ({removed} chunks).",
            self.sources_table(desk_name),
            *self.refreshed_pickers(desk_name, clear=True),
        )

    def date_of(self, desk_name, source):
        """The chosen source's current date, to correct in place."""
        return next((r.date or "" for r in self.pool.get(desk_name).sources() if r.source == source), "")

    def set_date(self, desk_name, source, stated):
        try:
            record = self.pool.get(desk_name).set_source_date(source, (stated or "").strip())
        except BriefError as exc:
            return f"Error: {exc}", gr.update()
        return f"{record.source} is now dated {record.date}.", self.sources_table(desk_name)

    def source_names(self, desk_name: str) -> list[str]:
        return [r.source for r in self.pool.get(desk_name).sources()]

    def sources_table(self, desk_name: str) -> list[list]:
        return render.sources_table(self.pool.get(desk_name).sources())

    def refreshed_pickers(self, desk_name: str, clear: bool = False) -> list:
        names = self.source_names(desk_name)
        return [
            gr.update(choices=names, value=None) if clear else gr.update(choices=names)
            for _ in self.source_pickers
        ]

    # --- briefing, settings and eval handlers --------------------------------------------------
    def brief(self, desk_name, topic, since, until, sources, changed_since, earlier, progress=gr.Progress()):
        from rag.briefings.briefing_changes import changes_reference, write_briefing
        from rag.briefings.summarize import Summarizer

        desk = self.pool.get(desk_name)
        try:
            briefing = write_briefing(
                Summarizer(desk),
                topic,
                parse_scope(since, until, sources),
                changes_reference(changed_since, earlier),
                progress=lambda d, t, name: progress(d / t, desc=name),
            )
        except BriefError as exc:
            return render.escape(f"Error: {exc}"), None
        return render.markdown_safe(briefing.to_markdown()), render.briefing_files(
            briefing, Path(desk.settings.data_dir)
        )

    def switch(self, name):
        try:
            shown = self.pool.switch_backend(name)
        except BriefError as exc:
            return render.escape(f"Error: {exc}")
        return f"LLM in use: `{render.escape(shown)}` · embedder: `{render.escape(self.desk.embedder.name)}`"

    def run_eval(self, desk_name, limit, progress=gr.Progress()):
        from eval.report import comparison_table, write_outputs
        from eval.runner import run_eval as run
        from eval.sets_io import eval_set_path

        desk = self.pool.get(desk_name)
        out = render.export_folder(Path(desk.settings.data_dir), "eval-reports")
        questions = int(limit) if limit else None
        report = run(
            desk,
            eval_set_path(desk.settings),
            limit=questions,
            progress=lambda d, t, q: progress(d / t, desc=q),
        )
        write_outputs(report, out)
        return comparison_table(report), str(out / "chart.png"), str(out / "report.md")


def keep_upload(folder: Path, uploaded: Path) -> Path:
    """Gradio's temporary copy moved into the desk's uploads folder, where ingest records its path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_upload_name(uploaded.name)
    shutil.copyfile(uploaded, target)
    return target


def build_app(desk) -> gr.Blocks:
    return BriefingDeskUI(desk).build()


def serve(desk) -> None:
    s = desk.settings
    threading.Thread(target=warm_up_quietly, args=(desk,), name="warm-up", daemon=True).start()
    app = build_app(desk)
    auth = (s.ui_username, s.ui_password.get_secret_value()) if s.ui_username and s.ui_password else None
    app.queue(default_concurrency_limit=s.ui_concurrency, max_size=s.ui_max_queue)
    app.launch(
        server_name=s.ui_host,
        server_port=s.ui_port,
        auth=auth,
        share=False,
        show_error=False,
        max_file_size=f"{int(s.max_file_mb)}mb",
        css=render.CSS,
    )


def warm_up_quietly(desk) -> None:
    """Runs beside the server starting up; a failure here is reported again, properly, by the first request."""
    try:
        desk.warm_up()
    except BriefError as exc:
        print(f"warm-up: {exc}", file=sys.stderr)
    except Exception as exc:  # one line, never a traceback from a background thread
        print(f"warm-up: {type(exc).__name__}: {exc}", file=sys.stderr)
