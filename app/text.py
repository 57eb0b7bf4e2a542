"""How a value is quoted in an error message: whole when short, its start and its length when long.

A 5 MB curve label must not come back inside a 10 MB error body, so every message that repeats what the
user sent goes through :func:`quote`.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sized

__all__ = ["QUOTE_LIMIT", "quote"]

#: Characters of a value that an error message repeats; longer values are cut and their length is given.
QUOTE_LIMIT = 40


def _short_repr() -> reprlib.Repr:
    """A bounded repr: a huge list or dict costs no more than a short one."""
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict = 3, 8, 8, 4
    short.maxstring = short.maxother = QUOTE_LIMIT
    return short


_SHORT_REPR = _short_repr()


def quote(value: object, *, limit: int = QUOTE_LIMIT) -> str:
    """The value as an error message shows it.

    Parameters
    ----------
    value : object
        What the user sent: text is shown with quotes (``'plate 1'``), anything else as its ``repr``.
    limit : int
        At most this many characters of the value are repeated.

    Returns
    -------
    str
        ``repr(value)`` when it is at most ``limit`` characters long; otherwise its first ``limit``
        characters, an ellipsis and the length: ``'AAAA…' (5,000,000 characters)`` for text,
        ``[0, 1, 2, 3, 4, 5, 6, 7, ...] (100,000 items)`` for a list.

    Examples
    --------
    >>> quote("plate 1")
    "'plate 1'"
    >>> quote("A" * 5_000_000, limit=4)
    "'AAAA…' (5,000,000 characters)"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit] + '…'!r} ({len(value):,} characters)"
    text = _SHORT_REPR.repr(value)  # "..." where it left items out
    size = f" ({len(value):,} item{'' if len(value) == 1 else 's'})" if isinstance(value, Sized) else ""
    if len(text) > limit:
        return f"{text[:limit]}…{size}"
    return f"{text}{size}" if "..." in text else text
