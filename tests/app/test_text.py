"""Values in error messages are quoted whole when short, and cut with their length when long."""

import pytest

from app.text import QUOTE_LIMIT, quote


@pytest.mark.parametrize(
    ("value", "shown"),
    [("plate 1", "'plate 1'"), (-1, "-1"), (-1.5, "-1.5"), ([0, "a"], "[0, 'a']"), (None, "None")],
)
def test_short_values_are_quoted_whole(value: object, shown: str) -> None:
    assert quote(value) == shown


def test_long_text_shows_its_start_and_length() -> None:
    shown = quote("A" * 5_000_000)
    assert shown == f"'{'A' * QUOTE_LIMIT}…' (5,000,000 characters)"


def test_long_lists_cost_little_and_show_their_length() -> None:
    shown = quote(list(range(1_000_000)))
    assert shown.endswith("(1,000,000 items)") and len(shown) < 80
    assert quote({"label": "x" * 1000}).endswith("(1 item)")
