"""The progress bar the commands show on stderr while they ingest or write."""

from __future__ import annotations

import sys
from collections.abc import Callable


class progress_bar:
    """tqdm on stderr as a (done, total, name) callback; silent when disabled or not a terminal. A
    call with another total, or counting from the start again, starts the bar afresh (one run after
    another: the feeds of `brief feed update`)."""

    def __init__(self, disabled: bool):
        self.disabled = disabled
        self.bar = None

    def __enter__(self) -> Callable[[int, int, str], None]:
        return self.update

    def update(self, done: int, total: int, name: str) -> None:
        if self.disabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="file", file=sys.stderr, leave=False, disable=None)
        elif total != self.bar.total or done < self.bar.n:
            self.bar.reset(total=total)
        self.bar.set_postfix_str(name[:40])
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
