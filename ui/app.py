"""The Gradio app: chat with cited answers, the library of sources, and the eval suite.

Callbacks only convert between Gradio values and the core services (rag.*); formatting and escaping
live in ui/render.py.
"""


import os
import queue
import re
import shutil
import sys
import threading
from pathlib import Path

from rag.answer import Answerer
from rag.errors import BriefError
from rag.retrieve import Scope
from ui import render

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
SAFE_NAME = re.compile(r"[^\w.\- ]+")
DONE = object()


def safe_upload_name(name: str) -> str:
    """Basename only, odd characters dropped: an upload can never leave the uploads folder."""
    base = SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    if not base:
        raise BriefError(f"cannot use the file name {name!r}", fix="rename the file")
    return base


def parse_scope(since: str, until: str, sources: list[str] | None) -> Scope:
    return Scope.parse(since=(since or "").strip() or None, until=(until or "").strip() or None, sources=sources or None)


def error_record(exc: Exception) -> dict:
    """The answers-list record of a turn that failed: its text, and no sources."""
    message = str(exc) if isinstance(exc, BriefError) else f"internal error: {type(exc).__name__}: {exc}"
    return {"answer": f"Error: {message}", "refused": False, "citations": [], "error": message}


class ChatService:
    """Runs a question in a worker thread so the draft can stream while the answer is verified."""

    def __init__(self, desk):
        self.desk = desk
        self.answerer = Answerer(desk)

    def stream(self, question: str, scope: Scope, history: list[str]):
        """Yields ('draft', text_so_far) while the LLM writes, then ('answer', Answer)."""
        tokens: queue.Queue = queue.Queue()
        result: dict = {}

        def work():
            try:
                result["answer"] = self.answerer.ask(question, scope=scope, history=history, on_token=tokens.put)
            except Exception as exc:  # raised again in the caller's thread, where the UI reports it
                result["error"] = exc
            finally:
                tokens.put(DONE)

        threading.Thread(target=work, daemon=True).start()
        draft = ""
        while (token := tokens.get()) is not DONE:
            draft += token
            yield "draft", draft
        if "error" in result:
            raise result["error"]
        yield "answer", result["answer"]


def build_app(desk):
    import gradio as gr

    chat = ChatService(desk)
    source_names = lambda: [r.source for r in desk.sources()]  # noqa: E731 - tiny view helper

    def ask(question, history, answers, since, until, sources):
        history = history or []
        if not (question or "").strip():
            gr.Warning("Type a question about the ingested articles.")
            yield history, answers, gr.update(), gr.update(), ""
            return
        previous = [m["content"] for m in history if m["role"] == "user"]
        history = history + [{"role": "user", "content": question}, {"role": "assistant", "content": "…"}]
        try:
            for kind, value in chat.stream(question, parse_scope(since, until, sources), previous):
                if kind == "draft":
                    history[-1] = {"role": "assistant", "content": f"<i>drafting, not yet verified:</i> {render.escape(value)}"}
                    yield history, answers, gr.update(), gr.update(), ""
                else:
                    data = value.to_json()
                    # the warning of this answer only: it travels inside the Answer, never on a shared object
                    history[-1] = {"role": "assistant", "content": render.answer_html(data["answer"], data["refused"], value.warning, data.get("short_answer"))}
                    answers = answers + [data]
                    yield history, answers, sources_for(data), render.copy_text(data), ""
        except Exception as exc:  # every turn must end with a record, whatever failed
            record = error_record(exc)
            history[-1] = {"role": "assistant", "content": render.escape(record["answer"])}
            answers = answers + [record]  # one record per turn, so later turns keep their own sources
            yield history, answers, render.sources_panel(record["citations"], {}), render.copy_text(record), ""

    def sources_for(answer_json: dict) -> str:
        return render.sources_panel(answer_json["citations"], desk.source_index())

    def select_answer(answers, evt: gr.SelectData):
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        assistant = [a for a in answers]
        turn = index // 2
        if 0 <= turn < len(assistant):
            return sources_for(assistant[turn]), render.copy_text(assistant[turn])
        return gr.update(), gr.update()

    def upload(files):
        if not files:
            return "No files chosen.", render.sources_table(desk.sources()), gr.update(choices=source_names())
        folder = Path(desk.settings.data_dir) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        lines, paths = [], []
        for f in files:
            try:
                target = folder / safe_upload_name(Path(getattr(f, "name", f)).name)
                shutil.copyfile(getattr(f, "name", f), target)
                paths.append(target)
            except (BriefError, OSError) as exc:
                lines.append(f"✗ {Path(str(f)).name}: {exc}")
        if paths:
            report = desk.ingest(paths)
            lines += [f"✗ {Path(s.path).name}: {s.reason}" for s in report.skipped]
            lines.append("✓ " + report.summary())
        return "\n".join(lines), render.sources_table(desk.sources()), gr.update(choices=source_names())

    def remove(source):
        if not source:
            return "Choose a source to remove.", gr.update(), gr.update()
        removed = desk.remove_source(source)
        return f"Removed {source} ({removed} chunks).", render.sources_table(desk.sources()), gr.update(choices=source_names(), value=None)

    def brief(topic, since, until, sources, progress=gr.Progress()):
        from rag.summarize import Summarizer

        try:
            briefing = Summarizer(desk).summarize(topic=topic, scope=parse_scope(since, until, sources),
                                                  progress=lambda d, t, name: progress(d / t, desc=name))
        except BriefError as exc:
            return render.escape(f"Error: {exc}"), None
        return render.markdown_safe(briefing.to_markdown()), render.briefing_files(briefing, Path(desk.settings.data_dir))

    def switch(name):
        try:
            shown = desk.switch_backend(name)
        except BriefError as exc:
            return render.escape(f"Error: {exc}")
        return f"LLM in use: `{render.escape(shown)}` · embedder: `{render.escape(desk.embedder.name)}`"

    def run_eval(limit, progress=gr.Progress()):
        from eval.report import comparison_table, write_outputs
        from eval.runner import run_eval as run

        out = Path(desk.settings.data_dir) / "eval-report"
        report = run(desk, desk.settings.eval_set, limit=int(limit) if limit else None, progress=lambda d, t, q: progress(d / t, desc=q))
        write_outputs(report, out)
        return comparison_table(report), str(out / "chart.png"), str(out / "report.md")

    with gr.Blocks(title="Briefing Desk") as app:
        gr.Markdown(f"## Briefing Desk\nAnswers about your articles, every sentence checked against the passage it cites. "
                    f"LLM: `{render.escape(desk.settings.llm_backend)}` · embedder: `{render.escape(desk.settings.embedder)}` · store: "
                    f"`{'Chroma server' if desk.settings.server_mode else 'embedded Chroma'}`")
        with gr.Tab("Chat"):
            answers = gr.State([])
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=420, sanitize_html=True, elem_id="bd-chat")
                    question = gr.Textbox(label="Question", placeholder="How much additional aid did Harris announce for the region?", elem_id="bd-question")
                    with gr.Row():
                        ask_btn = gr.Button("Ask", variant="primary", elem_id="bd-ask")
                        clear_btn = gr.Button("New conversation")
                    with gr.Accordion("Filters", open=False):
                        since = gr.Textbox(label="Since (YYYY-MM-DD)")
                        until = gr.Textbox(label="Until (YYYY-MM-DD)")
                        only = gr.Dropdown(label="Only these sources", choices=source_names(), multiselect=True)
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    panel = gr.HTML('<div class="bd-empty">Ask a question to see its sources.</div>', elem_id="bd-sources")
                    copy_box = gr.Textbox(label="Answer with references (copy)", lines=4, buttons=["copy"], elem_id="bd-copy")
            inputs = [question, chatbot, answers, since, until, only]
            outputs = [chatbot, answers, panel, copy_box, question]
            ask_btn.click(ask, inputs, outputs)
            question.submit(ask, inputs, outputs)
            chatbot.select(select_answer, [answers], [panel, copy_box])
            clear_btn.click(lambda: ([], [], "", ""), None, [chatbot, answers, panel, copy_box])
        with gr.Tab("Briefing"):
            with gr.Row():
                topic = gr.Textbox(label="Topic (empty = everything)", elem_id="bd-topic")
                b_since = gr.Textbox(label="Since (YYYY-MM-DD)")
                b_until = gr.Textbox(label="Until (YYYY-MM-DD)")
                b_only = gr.Dropdown(label="Only these sources", choices=source_names(), multiselect=True)
            brief_btn = gr.Button("Generate briefing", variant="primary", elem_id="bd-brief")
            briefing_md = gr.Markdown(elem_id="bd-briefing")
            briefing_file = gr.File(label="Download: Markdown, HTML page, JSON", file_count="multiple", elem_id="bd-briefing-files")
            brief_btn.click(brief, [topic, b_since, b_until, b_only], [briefing_md, briefing_file])
        with gr.Tab("Library"):
            files = gr.File(label="Add articles (.txt .md .html .pdf)", file_count="multiple", elem_id="bd-upload")
            status = gr.Textbox(label="Upload result", lines=4, elem_id="bd-upload-status")
            table = gr.Dataframe(render.sources_table(desk.sources()), headers=["source", "title", "date", "outlet", "chunks"], interactive=False)
            with gr.Row():
                victim = gr.Dropdown(label="Remove a source", choices=source_names())
                remove_btn = gr.Button("Remove")
            files.upload(upload, [files], [status, table, only])
            remove_btn.click(remove, [victim], [status, table, only])
        with gr.Tab("Settings"):
            in_use = gr.Markdown(f"LLM in use: `{render.escape(desk.settings.llm_backend)}` · embedder: `{render.escape(desk.settings.embedder)}`", elem_id="bd-in-use")
            backend = gr.Dropdown(label="LLM backend", choices=desk.backend_choices(), value=desk.settings.llm_backend, elem_id="bd-backend")
            backend.change(switch, [backend], [in_use])
        with gr.Tab("Eval"):
            limit = gr.Number(label="Questions (empty = all)", precision=0)
            eval_btn = gr.Button("Run the citation eval")
            eval_table = gr.Markdown()
            chart = gr.Image(label="Metrics", type="filepath")
            download = gr.File(label="Report")
            eval_btn.click(run_eval, [limit], [eval_table, chart, download])
    return app


def serve(desk) -> None:
    s = desk.settings
    threading.Thread(target=warm_up_quietly, args=(desk,), name="warm-up", daemon=True).start()
    app = build_app(desk)
    auth = (s.ui_username, s.ui_password.get_secret_value()) if s.ui_username and s.ui_password else None
    app.queue(default_concurrency_limit=s.ui_concurrency, max_size=s.ui_max_queue)
    app.launch(server_name=s.ui_host, server_port=s.ui_port, auth=auth, share=False, show_error=False,
               max_file_size=f"{int(s.max_file_mb)}mb", css=render.CSS)


def warm_up_quietly(desk) -> None:
    """Runs beside the server starting up; a failure here is reported again, properly, by the first request."""
    try:
        desk.warm_up()
    except BriefError as exc:
        print(f"warm-up: {exc}", file=sys.stderr)
    except Exception as exc:  # one line, never a traceback from a background thread
        print(f"warm-up: {type(exc).__name__}: {exc}", file=sys.stderr)
