"""The built wheel carries its data: installed outside the checkout, `brief` ingests and answers.

A checkout (or an editable install) finds prompts, presets and eval sets beside the code whatever
the packaging says; only a real wheel, run from somewhere else, shows what ships.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AID_Q = "How much additional aid did Harris announce for the region?"
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".brief",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "docs",
    "results",
    "reports",
    "tests",
)
PROBE = """
import json, sys
import eval, prompts, rag, rag.commands.cli, ui, vectorstore
from rag.models.prompts import all_prompt_names, load_prompt
from rag.config.settings import load_settings
from eval.sets_io import eval_set_path, support_set_path
settings = load_settings(preset="fast")
print(json.dumps({
    "modules": [m.__file__ for m in (eval, prompts, rag, rag.commands.cli, ui, vectorstore)],
    "prompts": all_prompt_names(), "answer_prompt_variables": sorted(load_prompt("answer").variables),
    "fast_retrieval_k": settings.retrieval_k, "eval_set": str(eval_set_path(settings)), "eval_set_exists": eval_set_path(settings).is_file(),
    "support_set_exists": support_set_path(settings).is_file(),
}))
"""


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args[:3]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return out.stdout


def build_wheel(tmp: Path, env: dict[str, str]) -> Path:
    """`pip wheel` of a copy of the checkout (the build writes build/ and *.egg-info beside the
    sources); no build isolation: the venv's setuptools builds it, so no registry access is needed."""
    source, dist = tmp / "src", tmp / "dist"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    pip_wheel = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)]
    run([sys.executable, "-m", "pip", *pip_wheel], tmp, env, 300)
    return next(dist.glob("briefing_desk-*.whl"))


def fresh_venv(folder: Path, env: dict[str, str]) -> Path:
    """A new venv whose only route to the dependencies is a .pth line naming this venv's
    site-packages: no .pth file there is processed, so the checkout's editable finder stays out and
    `import rag` can only find the installed wheel."""
    run([sys.executable, "-m", "venv", "--without-pip", str(folder)], folder.parent, env, 120)
    python = folder / "bin" / "python"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], folder, env
    ).strip()
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir())
    (Path(purelib) / "deps_from_test_venv.pth").write_text(f"{deps}\n", encoding="utf-8")
    return python


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """The wheel installed into a fresh venv (pip run against that venv's interpreter, so `brief`
    is the wheel's own console script); returns the venv's bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    python = fresh_venv(tmp / "venv", env)
    wheel = build_wheel(tmp, env)
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        tmp,
        env,
        300,
    )
    return python.parent


@pytest.fixture
def outside_env(installed_wheel, tmp_path, make_settings) -> dict[str, str]:
    """Environment for a working folder outside the checkout, with the settings the other fast tests
    use (hash embedder, no LLM) passed as BRIEF_* variables."""
    settings = make_settings(data_dir=tmp_path / "data")
    brief = {f"BRIEF_{name.upper()}": str(getattr(settings, name)) for name in settings.model_fields_set}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BRIEF_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return {**env, **brief, "BRIEF_CONFIG": str(tmp_path / "none.toml")}


def test_wheel_ships_its_prompts_presets_and_eval_sets(installed_wheel, outside_env, tmp_path):
    found = json.loads(run([str(installed_wheel / "python"), "-c", PROBE], tmp_path, outside_env))
    venv = installed_wheel.parent
    assert all(Path(f).is_relative_to(venv) for f in found["modules"]), found["modules"]
    assert {"answer", "condense"} <= set(found["prompts"]) and found["answer_prompt_variables"] == [
        "evidence",
        "question",
    ]
    assert found["fast_retrieval_k"] == 4
    assert (
        Path(found["eval_set"]).is_relative_to(venv)
        and found["eval_set_exists"]
        and found["support_set_exists"]
    )


def test_installed_brief_ingests_the_seeds_and_answers(installed_wheel, outside_env, tmp_path):
    brief = [str(installed_wheel / "brief")]  # the wheel's console script
    assert (installed_wheel / "brief").read_text().splitlines()[0] == f"#!{installed_wheel / 'python'}"
    report = json.loads(
        run([*brief, "ingest", str(ROOT / "seeds"), "--json", "--quiet"], tmp_path, outside_env)
    )
    assert report["new_sources"] == 5
    answer = json.loads(run([*brief, "ask", AID_Q, "--json"], tmp_path, outside_env))
    assert not answer["refused"] and any("$310 million" in c["quote"] for c in answer["citations"])
