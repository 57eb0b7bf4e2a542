"""Worker processes that start clean.

A worker forked from a process that holds TensorFlow's or a browser driver's threads can deadlock or crash;
workers started here come from a fresh server process (``forkserver``) where the platform has one, else
from a fresh interpreter (``spawn``). Like any multiprocessing code, a script that starts them needs a
``__main__`` guard.
"""

from __future__ import annotations

from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext

__all__ = ["clean_context"]


def clean_context() -> BaseContext:
    """The multiprocessing context for worker processes: ``forkserver`` where available, else ``spawn``."""
    return get_context("forkserver" if "forkserver" in get_all_start_methods() else "spawn")
