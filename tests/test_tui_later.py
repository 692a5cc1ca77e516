"""``Later``: work for a Textual worker, made only when the worker awaits it."""

from __future__ import annotations

import gc
import warnings

from telestrations.tui.later import Later


async def test_the_work_is_made_when_awaited_and_not_before() -> None:
    made: list[int] = []

    async def work() -> int:
        made.append(1)
        return 7

    later = Later(work)
    assert made == []
    assert await later == 7 and made == [1]


def test_work_never_awaited_leaves_no_warning() -> None:
    async def work() -> None:
        raise AssertionError("never run")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        later = Later(work)
        del later
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
