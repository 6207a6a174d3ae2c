"""The layer rule of the README, kept by the import graph: every import of every module (those inside
functions too, since a lazy import is still a dependency), read with ``ast`` so nothing is executed.

Layers, lowest first: vectorstore/ (and the prompt files in prompts/), rag/, eval/, fit/, then ui/ and
bench/. fit/ (the training and fitting scripts) sits above the eval suite it measures with, and no
module of rag/ may reach it: `brief ask` never loads the training stack.
A package imports only itself and the layers below it, and only rag/ reaches vectorstore/: the tools
above rag/ use what it re-exports (rag/toolkit.py), so vectorstore/ can change behind rag/.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("vectorstore", "prompts", "rag", "eval", "fit", "ui", "bench")
# The rule itself: which other first-party packages each package may import.
ALLOWED = {
    "vectorstore": frozenset(),
    "prompts": frozenset(),
    "rag": frozenset({"vectorstore", "prompts"}),
    "eval": frozenset({"rag"}),
    "fit": frozenset({"rag", "eval"}),
    "ui": frozenset({"rag", "eval", "fit"}),
    "bench": frozenset({"rag", "eval", "fit"}),
}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the first-party packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name the module imports, at any depth of its code; relative imports resolved."""
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from rag.commands import cli` imports the module rag.commands.cli; `from rag.commands.cli import
            # main` imports rag.commands.cli
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def resolve(name: str, modules: set[str]) -> str | None:
    """The first-party module an imported name lands in (its longest known prefix), or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the other first-party modules it imports."""
    files = module_files()
    graph = {}
    for module, path in files.items():
        targets = {resolve(name, set(files)) for name in imported_names(module, path)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def package_of(module: str) -> str:
    return module.split(".")[0]


def allowed(source: str, target: str) -> bool:
    """Whether a module of package ``source`` may import one of package ``target``."""
    return source == target or target in ALLOWED[source]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if not allowed(package_of(module), package_of(target))
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import circles, each as the path that closes it (depth-first search, one report per circle)."""
    found, state = [], {}  # state: 1 on the current path, 2 finished

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


# ---------------------------------------------------------------- the rule, on the real code


def test_every_import_follows_the_layer_rule():
    assert layer_violations(import_graph()) == []


def test_no_module_imports_itself_back_through_others():
    assert cycles(import_graph()) == []


def test_the_graph_sees_the_real_imports():
    """A parser that found nothing would pass the two tests above: check edges we know are there,
    one of them an import inside a function."""
    graph = import_graph()
    assert "vectorstore.store" in graph["rag.store.desk"]
    # `from rag.store.desks import open_desk` inside make_desk
    assert "rag.store.desks" in graph["rag.commands.cli"]
    assert "eval.runner" in graph["ui.app"]  # the UI's Eval tab, inside a handler
    assert "eval.squad" in graph["fit.reader.run"] and "rag.models.reader" in graph["fit.reader.score"]
    assert len(graph) > 50


# ---------------------------------------------------------------- the checks themselves can fail


def test_the_rule_rejects_upward_and_skipping_imports():
    assert not allowed("vectorstore", "rag") and not allowed("rag", "eval") and not allowed("eval", "ui")
    assert not allowed("rag", "fit") and not allowed("eval", "fit") and allowed("fit", "eval")
    assert not allowed("eval", "vectorstore") and not allowed("bench", "vectorstore")  # only through rag
    assert not allowed("ui", "bench") and not allowed("bench", "ui")  # one layer, two packages
    assert allowed("ui", "eval") and allowed("bench", "rag") and allowed("rag", "vectorstore")
    graph = {"rag.questions.answer": {"vectorstore.keyword", "eval.metrics"}, "eval.metrics": set()}
    assert layer_violations(graph) == ["rag.questions.answer imports eval.metrics"]


def test_the_allowed_table_itself_is_layered():
    assert cycles({package: set(targets) for package, targets in ALLOWED.items()}) == []
    assert set(ALLOWED) == set(PACKAGES)


def test_a_circle_is_found():
    graph = {
        "vectorstore.embed": {"vectorstore.onnx_minilm"},
        "vectorstore.onnx_minilm": {"vectorstore.embed"},
        "rag.a": set(),
    }
    assert cycles(graph) == [["vectorstore.embed", "vectorstore.onnx_minilm", "vectorstore.embed"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_and_submodule_imports_resolve(tmp_path):
    path = tmp_path / "x.py"
    path.write_text(
        "from . import y\nfrom .z import w\nfrom rag.commands import cli\n\ndef f():\n    import vectorstore.chunk\n"
    )
    names = imported_names("rag.x", path)
    assert {"rag.y", "rag.z", "rag.commands.cli", "vectorstore.chunk"} <= names
    assert (
        resolve("rag.commands.cli.main", {"rag", "rag.commands.cli"}) == "rag.commands.cli"
        and resolve("numpy", {"rag"}) is None
    )


def test_answering_loads_no_training_stack():
    """What `brief ask` imports to answer (the refusal model included) needs neither fit/, nor
    scikit-learn, nor torch, nor transformers: they are for training only."""
    import subprocess
    import sys

    probe = (
        "import sys, rag.commands.cli, rag.questions.answer, rag.store.desk, rag.models.refusal, rag.questions.reading\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('fit', 'sklearn', 'torch', 'transformers')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
