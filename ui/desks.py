"""The desk control and the past conversations, mixed into the Gradio app (ui/app.py).

Which desk a browser session works on is the desk dropdown's value, sent with every request, so two
users on two desks never see each other's articles; the desks themselves (one per name, sharing the
loaded models) and their histories are rag/ services (rag/store/desks.py DeskPool, rag/store/history.py). These
handlers only convert between them and Gradio values.
"""

from __future__ import annotations

import gradio as gr

from rag.config.settings_desks import DESK_NAME_RULE
from rag.errors import BriefError
from rag.questions.answer import WITHHELD_NOTE
from rag.store.desk_registry import count_of
from rag.store.history import new_conversation_id
from ui import render

EMPTY_SOURCES = '<div class="bd-empty">Ask a question to see its sources.</div>'


def reply_html(data: dict) -> str:
    """An answer's JSON as its chat bubble (a fresh answer and a reopened one look the same)."""
    withheld = WITHHELD_NOTE if data.get("short_answer_withheld") else None
    return render.answer_html(
        data["answer"],
        data["refused"],
        data.get("warning"),
        data.get("short_answer"),
        withheld,
        data.get("closest") or [],
    )


def chat_of(turns) -> tuple[list[dict], list[dict]]:
    """A stored conversation as the chat's messages and its answers list (citations included)."""
    messages, answers = [], []
    for turn in turns:
        messages += [
            {"role": "user", "content": turn.answer["question"]},
            {"role": "assistant", "content": reply_html(turn.answer)},
        ]
        answers.append(turn.answer)
    return messages, answers


class DeskControls:
    """Layout and handlers of the desk bar and the past-conversations list; BriefingDeskUI provides
    ``pool``, ``sources_panel``, ``sources_table`` and ``refreshed_pickers``."""

    def desk_bar(self) -> None:
        """Above the tabs: the desk in use, what it holds, and a way to open a new one."""
        base = self.pool.base.name
        with gr.Row():
            self.desk_picker = gr.Dropdown(
                label="Desk", choices=self.pool.names(), value=base, elem_id="bd-desk", scale=2
            )
            self.new_desk = gr.Textbox(
                label="New desk", placeholder=DESK_NAME_RULE, elem_id="bd-new-desk", scale=2
            )
            create_btn = gr.Button("Create desk", elem_id="bd-create-desk", scale=1)
        self.desk_status = gr.Markdown(self.desk_line(base), elem_id="bd-desk-status")
        self.conversation = gr.State(new_conversation_id)  # a new id for every page load
        for event in (create_btn.click, self.new_desk.submit):
            event(self.create_desk, [self.new_desk], [self.desk_picker, self.new_desk, self.desk_status])

    def past_list(self) -> None:
        """In the chat tab: the desk's recent conversations; choosing one reopens it."""
        self.past = gr.Dropdown(
            label="Past conversations",
            choices=self.past_choices(self.pool.base.name),
            value=None,
            elem_id="bd-past",
        )

    def wire_desks(self, chat: list, library: list) -> None:
        """After every tab is laid out: switching desks refreshes the chat, the library and the
        pickers; choosing a past conversation reopens it (``chat``: chatbot, answers, panel, copy box)."""
        self.desk_picker.change(
            self.switch_desk,
            [self.desk_picker],
            [*chat, self.conversation, self.past, self.desk_status, *library],
        )
        self.past.input(self.reopen, [self.desk_picker, self.past], [*chat, self.conversation])

    # --- handlers ------------------------------------------------------------------------------
    def desk_line(self, name: str) -> str:
        s = self.pool.summary(name)
        span = f", {s.first_date} to {s.last_date}" if s.first_date else ""
        return f"Desk `{render.escape(s.name)}`: {count_of(s.articles, 'article')}{span}."

    def past_choices(self, name: str) -> list[tuple[str, str]]:
        """(label, id) of the desk's recent conversations, newest first."""
        desk = self.pool.get(name)
        shown = desk.settings.history_shown
        return [(f"{c.title} ({count_of(c.turns, 'turn')})", c.id) for c in desk.history.recent(shown)]

    def refresh_past(self, name, conversation):
        """After a turn: the list again, the open conversation chosen in it."""
        choices = self.past_choices(name)
        chosen = conversation if any(cid == conversation for _, cid in choices) else None
        return gr.update(choices=choices, value=chosen)

    def create_desk(self, name):
        try:
            desk = self.pool.create(name or "")
        except BriefError as exc:
            return gr.update(), gr.update(), render.escape(f"Error: {exc}")
        # choosing it fires the picker's change event, which switches the session to it
        return gr.update(choices=self.pool.names(), value=desk.name), "", self.desk_line(desk.name)

    def switch_desk(self, name):
        try:
            desk = self.pool.get(name)
        except BriefError as exc:
            return (
                *[gr.update()] * 6,
                render.escape(f"Error: {exc}"),
                *[gr.update()] * (1 + len(self.source_pickers)),
            )
        past = gr.update(choices=self.past_choices(desk.name), value=None)
        chat = ([], [], EMPTY_SOURCES, "")
        table = self.sources_table(desk.name)
        return (
            *chat,
            new_conversation_id(),
            past,
            self.desk_line(desk.name),
            table,
            *self.refreshed_pickers(desk.name, clear=True),
        )

    def reopen(self, name, conversation):
        """The chosen conversation back in the chat, its last answer's sources in the panel."""
        if not conversation:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        turns = self.pool.get(name).history.conversation(conversation).turns
        messages, answers = chat_of(turns)
        last = answers[-1] if answers else None
        panel = self.sources_panel(name, last) if last else EMPTY_SOURCES
        return messages, answers, panel, render.copy_text(last) if last else "", conversation
