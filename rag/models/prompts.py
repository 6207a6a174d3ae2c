"""Prompt files from prompts/: a header declaring the variables, then a Jinja body.

The files are package data of the ``prompts`` package, read through importlib.resources, so an
installed wheel finds them as well as a checkout does.

Rendering with a missing or undeclared variable fails loudly, so a prompt and the code that fills it
cannot drift apart silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

PROMPT_PACKAGE = "prompts"
SEPARATOR = "---\n"


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str
    variables: frozenset[str]
    body: str

    def render(self, **values) -> str:
        given = set(values)
        if given != self.variables:
            missing, extra = sorted(self.variables - given), sorted(given - self.variables)
            raise PromptError(
                f"prompt '{self.name}': missing variables {missing}, undeclared variables {extra}"
            )
        return self._template().render(**values)

    def _template(self):
        return compile_template(self.body)


@lru_cache(maxsize=32)
def compile_template(body: str):
    from jinja2 import Environment, StrictUndefined

    env = Environment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)
    return env.from_string(body)


@lru_cache(maxsize=32)
def load_prompt(name: str) -> Prompt:
    path = resources.files(PROMPT_PACKAGE).joinpath(f"{name}.txt")
    if not path.is_file():
        raise PromptError(f"no prompt file {PROMPT_PACKAGE}/{name}.txt")
    text = path.read_text(encoding="utf-8")
    if SEPARATOR not in text:
        raise PromptError(f"prompt {path} has no '---' line after its header")
    header, body = text.split(SEPARATOR, 1)
    declared = [line.split(":", 1)[1] for line in header.splitlines() if line.startswith("variables:")]
    if not declared:
        raise PromptError(f"prompt {path} declares no 'variables:' line")
    variables = frozenset(v.strip() for v in declared[0].split(",") if v.strip())
    return Prompt(name=name, variables=variables, body=body.rstrip("\n"))


def all_prompt_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".txt")
        for entry in resources.files(PROMPT_PACKAGE).iterdir()
        if entry.name.endswith(".txt")
    )
