"""The embedder registry: a name maps to a module path imported on first use, the default included,
and the vectorstore modules import each other without a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from vectorstore import embed
from vectorstore.embed import make_embedder, register_embedder
from vectorstore.errors import BackendUnavailable

VECTORSTORE = Path(embed.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (a lazy import still closes a circle)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by depth-first search, as the path that closes it."""
    cycles, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append(path[path.index(node) :] + [node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, path + [node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return cycles


def test_no_import_circle_inside_vectorstore():
    modules = {f"vectorstore.{p.stem}": p for p in VECTORSTORE.glob("*.py") if p.stem != "__init__"}
    graph = {name: {m for m in imported_modules(path) if m in modules} for name, path in modules.items()}
    assert "vectorstore.embed" in graph["vectorstore.onnx_minilm"]  # the runtime uses the shared helpers...
    assert import_cycles(graph) == []  # ...so embed must not import it back


def test_cycle_finder_reports_a_lazy_import_circle():
    assert import_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"]]


def test_the_default_is_registered_by_module_path_like_the_rest():
    assert embed.EMBEDDERS["minilm"] == "vectorstore.onnx_minilm:OnnxMiniLMEmbedder"
    assert all(":" in target for target in embed.EMBEDDERS.values())
    assert {"minilm", "minilm-int8", "minilm-torch", "hash"} <= set(embed.EMBEDDERS)


def test_runtime_modules_are_imported_only_when_their_embedder_is_made():
    probe = (
        "import sys; from vectorstore.embed import make_embedder; "
        "before = 'vectorstore.onnx_minilm' in sys.modules; make_embedder('hash').embed(['a b']); "
        "after_hash = 'vectorstore.onnx_minilm' in sys.modules; e = make_embedder('minilm', model_dir='unused'); "
        "print(before, after_hash, 'vectorstore.onnx_minilm' in sys.modules, type(e).__name__, 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=VECTORSTORE.parent
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True", "OnnxMiniLMEmbedder", "False"]


def test_a_registered_module_path_is_imported_on_first_use(tmp_path, monkeypatch):
    (tmp_path / "my_embedders.py").write_text(
        "import numpy as np\n"
        "class Ones:\n"
        "    name, dim = 'ones', 3\n"
        "    def __init__(self, scale=1.0, **_):\n"
        "        self.scale = scale\n"
        "    def embed(self, texts):\n"
        "        return np.full((len(texts), 3), self.scale, dtype=np.float32)\n"
        "    encode = embed\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(embed.EMBEDDERS, "ones", "")  # restored (removed) after the test
    register_embedder("ones", "my_embedders:Ones")
    assert "my_embedders" not in sys.modules
    made = make_embedder("ones", scale=2.0)
    assert "my_embedders" in sys.modules
    assert made.embed(["x", "y"]).tolist() == [[2.0] * 3] * 2
    monkeypatch.delitem(sys.modules, "my_embedders")


def test_unknown_embedder_lists_the_registered_names():
    with pytest.raises(BackendUnavailable, match="unknown embedder 'nope'") as caught:
        make_embedder("nope")
    assert "hash" in caught.value.fix and "minilm" in caught.value.fix


def test_a_target_without_an_attribute_is_refused():
    with pytest.raises(ValueError, match="module:attribute"):
        register_embedder("broken", "just.a.module")
