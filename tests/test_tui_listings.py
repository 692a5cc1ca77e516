"""The model menu shows what the services offer today: shut-down models left out, ones ending
soon marked with their date, the lists' age shown, and a key that asks the services again.
A chosen model that is shut down is refused with a notice naming its replacement.

The OpenAI provider is the real one, talking over 127.0.0.1 to the protocol-faithful fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from telestrations.providers.base import ProviderContext
from telestrations.providers.openai import provider
from telestrations.providers.registry import Registry
from telestrations.tui.screens.picker import ModelPicker
from tests.fakes.openai_api import CHAT, GPT_IMAGE, FakeOpenAI

from .test_tui_support import FakeProvider, main_screen, make_app, make_runtime, wait_for

KEY = "sk-tui-listing-0123456789abcdef"
DAY = date(2026, 12, 20)
"""Today, for these tests: gpt-5-mini (preset: shut down 2026-12-11) is gone."""
SIZE = (120, 40)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=GPT_IMAGE + CHAT).start()
    api.shutdown = {"gpt-image-2.5-sunburst": "2026-12-15", "gpt-6-luna": "2027-01-05"}
    yield api  # type: ignore[misc]
    api.stop()


def runtime_for(home: Path, fake: FakeOpenAI):  # type: ignore[no-untyped-def]
    openai = provider(
        ProviderContext(
            settings={"base_url": f"{fake.url}/v1", "compatible": False},
            get_key=lambda name: KEY if name == "openai" else None,
        )
    )
    runtime, _ = make_runtime(home, registry=Registry([FakeProvider(), openai]))
    runtime.today = lambda: DAY
    return runtime


def notes(app) -> str:  # type: ignore[no-untyped-def]
    return " | ".join(str(n.message) for n in app._notifications)


async def test_menu_marks_dates_hides_shut_down_and_refreshes(
    isolated_env: Path, fake: FakeOpenAI
) -> None:
    runtime = runtime_for(isolated_env, fake)
    app = make_app(runtime, guesser="fake:eye")
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await wait_for(pilot, lambda: "openai" in runtime.listing_status)  # background listing
        m.history.focus()
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        rows = {r.model.id: r for r in picker.rows}
        assert rows["openai:gpt-6-luna"].dated == "shuts down 2027-01-05"
        assert "openai:gpt-5-mini" not in rows  # preset date passed: not offered
        assert "openai:gpt-6.1-terra" in rows and rows["openai:gpt-6.1-terra"].dated == ""
        assert "openai: listed just now" in picker.sources
        hint = str(picker.query_one("#picker-title").render())
        assert "Ctrl+R" in hint and "refreshes the lists" in hint
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelPicker))

        m.history.focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        ids = [r.model.id for r in picker.rows]
        assert "openai:gpt-image-2.5-sunburst" not in ids  # the listing says: shut down
        assert "openai:gpt-image-2.6-flare" in ids and "openai:gpt-image-7" not in ids
        fake.models += ("gpt-image-7",)  # the service now offers a new model
        listed = sum(r.path == "/v1/models" for r in fake.requests)
        await pilot.press("ctrl+r")  # typed letters go to the filter; this key refreshes
        await wait_for(pilot, lambda: "openai:gpt-image-7" in [r.model.id for r in picker.rows])
        assert sum(r.path == "/v1/models" for r in fake.requests) > listed
        assert picker.query_one("#picker-filter").value == ""  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "Model lists refreshed." in notes(app))
        await pilot.press("escape")


async def test_shut_down_choice_is_refused_with_its_replacement(
    isolated_env: Path, fake: FakeOpenAI
) -> None:
    runtime = runtime_for(isolated_env, fake)
    app = make_app(runtime, guesser="openai:gpt-5-mini")  # e.g. from a saved state
    async with app.run_test(size=SIZE) as pilot:
        line = "cannot use guesser openai:gpt-5-mini: openai:gpt-5-mini was shut down on 2026-12-11"
        await wait_for(pilot, lambda: line in notes(app))
        assert "use openai:gpt-6.1-terra instead" in notes(app)
        m = main_screen(app)
        m.prompt_field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker) and picker.kind == "guesser"
        assert m.game is None  # nothing started, nothing paid for
        assert not any(r.method == "POST" for r in fake.requests)
        await pilot.press("escape")
