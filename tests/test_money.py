"""Costs as the cards and the status line show them."""

from __future__ import annotations

import pytest

from telestrations.turns import money


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (0.0, "free"),
        (0.04, "$0.04"),
        (0.011, "$0.011"),
        (0.0054, "$0.0054"),
        (5.4e-05, "$0.000054"),
        (1234.5, "$1,234.50"),
    ],
)
def test_money_keeps_the_digits_a_small_cost_needs(usd: float, shown: str) -> None:
    assert money(usd) == shown
