"""Deterministic fakes for the logic around the models (the models themselves are tested for real)."""

from __future__ import annotations

from typing import Iterator


class ScriptedLLM:
    """Replies with scripted text, token by token; records the prompts it saw."""

    def __init__(self, *replies: str, name: str = "fake:scripted"):
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.name = name

    def warm_up(self) -> None:
        self.warmed = True

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        self.prompts.append(prompt)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        for word in reply.split(" "):
            yield word + " "


class FailingLLM:
    """Yields some tokens, then raises the given error (a server dying mid-answer)."""

    def __init__(self, error: Exception, tokens_first: int = 0, name: str = "fake:failing"):
        self.error = error
        self.tokens_first = tokens_first
        self.name = name

    def warm_up(self) -> None:
        pass

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        for i in range(self.tokens_first):
            yield f"word{i} "
        raise self.error


def free_port() -> int:
    """A port nothing listens on right now (for servers the tests start on loopback)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
