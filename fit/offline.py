"""No hub at run time: the fitting scripts read only the packaged models and the shared data."""

from __future__ import annotations

import os


def offline_torch() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
