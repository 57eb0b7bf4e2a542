"""How a value is quoted in an error message: whole when short, its start and its length when long.

A 5 MB curve label must not come back inside a 10 MB error body, so every message that repeats what the
user sent goes through :func:`quote`.
"""

from __future__ import annotations

__all__ = ["QUOTE_LIMIT", "quote"]

#: Characters of a value that an error message repeats; longer values are cut and their length is given.
QUOTE_LIMIT = 40


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
        ``repr(value)`` when it is at most ``limit`` characters long; otherwise the first ``limit``
        characters, an ellipsis and the length, e.g. ``'AAAA…' (5,000,000 characters)``.

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
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"
