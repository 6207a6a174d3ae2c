"""Desks: one set of articles per story, each with its own Chroma collections, keyword index, uploads
and history, and answering only from its own articles. How they are named and listed is in
rag/store/desk_registry.py; here: opening one, deleting one, and serving several side by side (the UI).
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config.settings_desks import check_desk_name
from rag.store.desk import Desk
from rag.store.desk_registry import DeskRegistry, DeskSummary, collection_prefix, desk_folder
from vectorstore.store import delete_collections, keyword_folders

if TYPE_CHECKING:
    from rag.config.settings import Settings


def open_desk(settings: Settings, create: bool = False) -> Desk:
    """The desk the settings name; one that does not exist yet is an error unless ``create``
    (ingest creates a desk with its first articles)."""
    if not create:
        DeskRegistry.of(settings).require(settings.desk)
    return Desk(settings)


@dataclass(frozen=True)
class DeskRemoval:
    collections: list[str]
    folders: list[str]


def delete_desk(settings: Settings, name: str) -> DeskRemoval:
    """Remove one desk's collections (every shape), keyword indexes, history and uploads, then its
    registry entry, and nothing of any other desk. A removal cut short leaves the desk registered,
    so removing it again finishes the job."""
    from vectorstore.client import open_client

    registry = DeskRegistry.of(settings)
    name = registry.require(check_desk_name(name))
    prefix = collection_prefix(settings.collection_prefix, name)
    client = open_client(
        Path(settings.data_dir), settings.chroma_host, settings.chroma_port, settings.chroma_timeout_s
    )
    dropped = delete_collections(client, prefix)
    folders = [*keyword_folders(settings.data_dir, prefix), desk_folder(settings.data_dir, name)]
    removed = [str(folder) for folder in folders if folder.exists()]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    registry.forget(name)
    return DeskRemoval(dropped, removed)


class DeskPool:
    """The desks one process serves side by side (the UI): one Desk per name, all sharing the first
    desk's loaded models and LLM backend; every request names the desk it acts on."""

    def __init__(self, base: Desk):
        self.base = base
        self.registry = DeskRegistry.of(base.settings)
        self._desks = {base.name: base}
        self._answerers: dict[str, object] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return self.registry.names()

    def get(self, name: str | None) -> Desk:
        name = check_desk_name(name or self.base.name)
        with self._lock:
            if name not in self._desks:
                self.registry.require(name)
                self._desks[name] = self.base.sibling(name)
            return self._desks[name]

    def create(self, name: str) -> Desk:
        return self.get(self.registry.create(name))

    def answerer(self, name: str | None):
        """The desk's Answerer (one per desk: it serves concurrent requests)."""
        from rag.questions.answer import Answerer

        desk = self.get(name)
        with self._lock:
            if desk.name not in self._answerers:
                self._answerers[desk.name] = Answerer(desk)
            return self._answerers[desk.name]

    def summary(self, name: str | None) -> DeskSummary:
        return self.registry.summary(self.get(name).name)

    def switch_backend(self, backend: str) -> str:
        """Every open desk answers with this LLM backend from now on; returns its display name."""
        with self._lock:
            shown = self.base.switch_backend(backend)
            for desk in self._desks.values():
                if desk is not self.base:
                    desk.adopt_models(self.base)
            self._answerers.clear()  # an Answerer keeps the settings it was built with
        return shown
