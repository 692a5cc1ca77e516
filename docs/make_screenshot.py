"""Regenerate docs/screenshot.svg: the real app, headless, after three offline doodle rounds.

python docs/make_screenshot.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


async def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="telestrations-shot-"))
    os.environ["TELESTRATIONS_DATA_DIR"] = str(home / "data")
    os.environ["TELESTRATIONS_CONFIG"] = str(home / "config.toml")
    os.environ["TELESTRATIONS_KEYS"] = str(home / "keys.json")
    from telestrations.game import Settings
    from telestrations.runtime import Runtime
    from telestrations.tui.app import TelestrationsApp
    from telestrations.tui.screens.main import Launch

    settings = Settings(style="Illustrate in colourful doodle style", pace=0.3)
    app = TelestrationsApp(
        Runtime.load(), Launch("a red house under a yellow sun", settings, images="halfcell")
    )
    async with app.run_test(size=(130, 42)) as pilot:
        main_screen = app.main
        assert main_screen is not None
        await pilot.press("enter")
        while main_screen.game is None or main_screen.game.rounds_done < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await pilot.press("enter")  # pause
        await pilot.pause(1.0)
        app.save_screenshot(filename="screenshot.svg", path=str(HERE))
    print(HERE / "screenshot.svg")


if __name__ == "__main__":
    asyncio.run(main())
