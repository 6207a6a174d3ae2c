"""Every annotation in the first-party modules names something that exists.

With ``from __future__ import annotations`` an annotation is a string nobody evaluates at import, so a
name the module never binds (``-> "Scope"`` with Scope imported only inside another function) goes
unnoticed until ``typing.get_type_hints``, a type checker or pydantic reads it. Names imported under
``if TYPE_CHECKING:`` count: that is where imports used only by annotations belong.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from test_layers import module_files


def type_checking_names(module: ModuleType) -> dict[str, object]:
    """What the module imports under ``if TYPE_CHECKING:``, imported now."""
    namespace: dict[str, object] = {}
    for node in ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            exec(compile(ast.Module(body=node.body, type_ignores=[]), module.__file__, "exec"), namespace)
    return namespace


def annotated(module: ModuleType) -> Iterator[object]:
    """The functions and classes the module defines, and its classes' methods and properties."""
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            yield value
        elif inspect.isclass(value):
            yield value
            for member in vars(value).values():
                func = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
                if inspect.isfunction(func):
                    yield func


def unresolved(module: ModuleType) -> list[str]:
    local = type_checking_names(module) or None
    problems = []
    for obj in annotated(module):
        try:
            typing.get_type_hints(obj, localns=local)
        except NameError as exc:
            problems.append(f"{obj.__qualname__}: {exc}")
    return problems


@pytest.mark.parametrize("name", sorted(module_files()))
def test_annotations_name_what_exists(name):
    assert unresolved(importlib.import_module(name)) == []


def test_a_missing_name_is_found(tmp_path, monkeypatch):
    (tmp_path / "annotated_probe.py").write_text(
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pathlib import PurePath\n\n"
        "def ok(p: PurePath) -> int:\n    return 0\n\n"
        "def broken() -> Missing:\n    return 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = importlib.import_module("annotated_probe")
    assert unresolved(probe) == ["broken: name 'Missing' is not defined"]
