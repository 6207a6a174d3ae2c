"""Deterministic fakes for the logic around the models (the models themselves are tested for real)."""

from __future__ import annotations

from collections.abc import Iterator


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


class ScriptedReader:
    """The reader's interface with scripted answers: for a question containing a key, the span is the
    first passage occurrence of its answer; anything else gets "no answer". Records what it read."""

    def __init__(self, answers: dict[str, str] | None = None, threshold: float = 0.0):
        self.answers = {k.lower(): v for k, v in (answers or {}).items()}
        self.threshold = threshold
        self.reads: list[tuple[str, list[str]]] = []
        self.decoys: dict[str, float] = {}  # other candidate answers and their margins

    def read(self, question: str, passages: list[str]):
        from rag.models.reader import Span

        self.reads.append((question, list(passages)))
        wanted = next((a for key, a in self.answers.items() if key in question.lower()), None)
        spans = []
        for i, passage in enumerate(passages):
            at = passage.find(wanted) if wanted else -1
            spans.append(
                Span(i, wanted, at, at + len(wanted), 10.0, 0.0)
                if at >= 0
                else Span(i, "", 0, 0, float("-inf"), 0.0)
            )
        return spans

    def candidates(self, question: str, passages: list[str], n: int):
        """The scripted span, then each decoy (``decoys``: text -> margin) where a passage holds it."""
        from rag.models.reader import Span

        found = [s for s in self.read(question, passages) if s.text][:1]
        for text, margin in self.decoys.items():
            at = next(((i, p.find(text)) for i, p in enumerate(passages) if text in p), None)
            if at:
                found.append(Span(at[0], text, at[1], at[1] + len(text), margin, 0.0))
        return sorted(found, key=lambda s: -s.margin)[:n]

    def best(self, question: str, passages: list[str]):
        from rag.models.reader import choose

        return choose(self.read(question, passages), self.threshold)


class ScriptedScorer:
    """The span scorer's interface: a fixed log-probability for every token of a candidate text (-5
    for any other text; one token per word); None (cannot score) when ``refuse`` is set. Records what
    it was asked."""

    name = "scripted"

    def __init__(self, likelihoods: dict[str, float], refuse: bool = False):
        self.likelihoods, self.refuse = likelihoods, refuse
        self.asked: list[tuple[str, str, list[str]]] = []

    def token_log_probs(self, question: str, passage: str, candidates: list[str], limit: int):
        self.asked.append((question, passage, list(candidates)))
        if self.refuse:
            return None
        return [[self.likelihoods.get(c, -5.0)] * len(c.split()[:limit]) for c in candidates]

    def warm_up(self) -> None:
        pass


class RuleRefusal:
    """The refusal model's interface with a fixed rule instead of fitted weights: answer when the
    reader found a span and the question's names, numbers and dates are all in the evidence; show
    the short answer unless ``withhold``. Records the features it judged."""

    def __init__(self, withhold: bool = False):
        self.withhold = withhold
        self.judged: list[dict[str, float]] = []

    def probabilities(self, features: dict[str, float]) -> dict[str, float]:
        answer = features["margin"] > 0 and features["salient_coverage"] >= 1.0
        return {"answerable": float(answer), "short_right": float(answer and not self.withhold)}

    def judge(self, features: dict[str, float], min_answerable: float, min_short_right: float):
        from rag.models.refusal import Verdict

        self.judged.append(features)
        p = self.probabilities(features)
        return Verdict(bool(p["answerable"]), bool(p["short_right"]), p["answerable"], p["short_right"])


class PageServer:
    """Scripted web pages on 127.0.0.1, served from a thread (tests of links and feeds). ``routes`` maps
    a path to (status, content type, body) or to a function given the request handler; any other
    path is a 404. ``hits`` lists the paths asked for, in order."""

    def __init__(self):
        self.routes: dict = {}
        self.hits: list[str] = []

    def __enter__(self) -> PageServer:
        import threading
        from http.server import ThreadingHTTPServer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.handle_error = lambda request, address: None  # no server tracebacks in captured stderr
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def page(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8", status=200):
        self.routes[path] = (status, content_type, body.encode("utf-8") if isinstance(body, str) else body)

    def handler_class(self):
        from http.server import BaseHTTPRequestHandler

        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                pages.hits.append(self.path)
                route = pages.routes.get(self.path, (404, "text/plain", b"not found"))
                if callable(route):
                    return route(self)
                status, content_type, body = route
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client hung up (a page refused for its size): not the test's output
                    pass

            def log_message(self, *args):  # quiet test output
                pass

        return Handler


def article_page(title: str, number: int, date: str | None = None) -> str:
    """A news page made up for the tests: site chrome around an article of three paragraphs that
    differ by ``number``, with its date in the markup when ``date`` is given."""
    from html import escape

    meta = f'<meta property="article:published_time" content="{date}T08:00:00Z">' if date else ""
    paragraphs = [
        f"The river authority opened lock number {number} on the eastern canal on a quiet morning, "
        f"letting barges of up to {number * 100 + 500} tonnes pass the old weir for the first time.",
        f"Engineers said the work on section {number} took eleven months and cost less than planned, "
        "because the contractor reused the steel gates that had been stored since the last repair.",
        f"Boat owners welcomed the change, although several asked for longer opening hours in summer "
        f"and for a second waiting pier below lock {number}.",
    ]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{escape(title)}</title>{meta}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>Subscribe to our newsletter</footer></body></html>"
    )
