"""Thumbnails are made once per image, safely when two cards ask for the same one at once."""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image

from telestrations.tui.images import load_thumbnail, thumbnail_path


def test_two_cards_making_the_same_thumbnail_at_once_both_get_it(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for i in range(15):
        name = f"r{i:04d}-draw.png"
        Image.new("RGB", (640, 360), (i * 10, 100, 200)).save(tmp_path / name)
        start = threading.Barrier(2)

        def make(name: str = name, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                assert load_thumbnail(tmp_path, name, 96).width == 96
            except BaseException as exc:  # collected: an assert in a thread would be lost
                errors.append(exc)

        threads = [threading.Thread(target=make) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert thumbnail_path(tmp_path, name).is_file()
    assert errors == []
    assert not list((tmp_path / "thumbs").glob("*.tmp"))
