"""The game folder: journal format, torn lines, resume position, listing and lookup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telestrations.store import GameDir, GameNotFound, Store, slugify
from telestrations.turns import TurnError, TurnRecord, next_turn, overlap, total_cost


def rec(seq: int, rnd: int, kind: str, output: str, status: str = "ok", **kw: object) -> TurnRecord:
    return TurnRecord(
        seq=seq,
        round=rnd,
        kind=kind,
        model="m",
        status=status,
        input="x",  # type: ignore[arg-type]
        output=output,
        **kw,
    )  # type: ignore[arg-type]


def test_folder_named_from_time_and_slug(tmp_path: Path) -> None:
    store = Store(tmp_path)
    when = datetime(2026, 11, 25, 4, 30, 0, tzinfo=UTC)
    game = store.new_game("A red house, under a YELLOW sun!", {"drawer": "d"}, now=when)
    assert game.path.parent == tmp_path / "games"
    assert game.name.endswith("-a-red-house-under-a-yellow-sun")
    assert game.name[:8].isdigit()
    header = json.loads(game.journal.read_text().splitlines()[0])
    assert header["type"] == "game" and header["prompt"] == "A red house, under a YELLOW sun!"
    assert header["settings"] == {"drawer": "d"}
    again = store.new_game("A red house, under a YELLOW sun!", {}, now=when)
    assert again.path != game.path  # same second, same prompt: a new folder, not a clash


def test_slugify_edge_cases() -> None:
    assert slugify("") == "game"
    assert slugify("Ünïcödé café") == "unicode-cafe"
    assert len(slugify("x" * 200)) <= 40


def test_journal_fields_round_trip(tmp_path: Path) -> None:
    game = Store(tmp_path).new_game("p", {})
    record = TurnRecord(
        seq=1,
        round=1,
        kind="draw",
        model="openai:dall-e-3",
        status="ok",
        input="Illustrate: p",
        image="r0001-draw.png",
        output="r0001-draw.png",
        extras={"revised_prompt": "P!"},
        started="2026-11-25T00:00:00.000+00:00",
        finished="2026-11-25T00:00:01.000+00:00",
        duration=1.0,
        cost=None,
    )
    game.save_image("r0001-draw.png", b"\x89PNG\r\n\x1a\nfake")
    game.append(record)
    line = json.loads(game.journal.read_text().splitlines()[1])
    for key in (
        "v",
        "type",
        "seq",
        "round",
        "kind",
        "model",
        "status",
        "input",
        "output",
        "extras",
        "started",
        "finished",
        "duration",
        "cost",
        "error",
    ):
        assert key in line, key
    assert line["cost"] is None  # unknown stays null, never 0
    assert GameDir.open(game.path).records == [record]


def test_torn_last_line_is_ignored_then_cut(tmp_path: Path) -> None:
    game = Store(tmp_path).new_game("p", {})
    game.append(rec(1, 1, "draw", "r0001-draw.png"))
    with open(game.journal, "ab") as fh:
        fh.write(b'{"v":1,"type":"turn","seq":2,"rou')  # crash mid-write
    loaded = GameDir.open(game.path)
    assert len(loaded.records) == 1
    assert any("torn last line" in w for w in loaded.warnings)
    loaded.append(rec(2, 1, "describe", "a cat"))
    again = GameDir.open(game.path)
    assert [r.seq for r in again.records] == [1, 2] and again.warnings == []


def test_corrupt_middle_line_is_skipped(tmp_path: Path) -> None:
    game = Store(tmp_path).new_game("p", {})
    game.append(rec(1, 1, "draw", "a.png"))
    with open(game.journal, "ab") as fh:
        fh.write(b"garbage\n")
    game.append(rec(2, 1, "describe", "a cat"))
    loaded = GameDir.open(game.path)
    assert [r.seq for r in loaded.records] == [1, 2]
    assert any("unreadable line 3" in w for w in loaded.warnings)


def test_next_turn_skips_failures() -> None:
    records = [
        rec(1, 1, "draw", "r0001-draw.png"),
        rec(2, 1, "describe", "", status="failed", error=TurnError("timeout", "slow")),
    ]
    nxt = next_turn("first", records)
    assert (nxt.round, nxt.kind, nxt.image, nxt.text) == (1, "describe", "r0001-draw.png", "first")
    records.append(rec(3, 1, "describe", "a cat"))
    nxt = next_turn("first", records)
    assert (nxt.round, nxt.kind, nxt.text) == (2, "draw", "a cat")
    assert next_turn("first", []).kind == "draw"


def test_total_cost_keeps_unknown_apart() -> None:
    records = [rec(1, 1, "draw", "a", cost=0.04), rec(2, 1, "describe", "b", cost=None)]
    assert total_cost(records) == (0.04, 1)


def test_overlap() -> None:
    assert overlap("a red house", "the red houses") == 1.0
    assert overlap("a red house", "a blue boat") == 0.0


def test_find_and_list(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(GameNotFound, match="no games yet"):
        store.find("last")
    a = store.new_game("first game", {}, now=datetime(2026, 1, 1, tzinfo=UTC))
    b = store.new_game("second game", {}, now=datetime(2026, 1, 2, tzinfo=UTC))
    assert store.find("last") == b.path
    assert store.find(a.name) == a.path
    assert store.find("first-game") == a.path
    assert store.find(str(a.path)) == a.path
    with pytest.raises(GameNotFound, match="matches 2 games"):
        store.find("game")
    with pytest.raises(GameNotFound, match="no game"):
        store.find("nothing-like-it")
    listed = store.list()
    assert [g.name for g in listed] == [b.name, a.name]
    assert listed[0].rounds == 0


def test_not_a_game(tmp_path: Path) -> None:
    with pytest.raises(GameNotFound):
        GameDir.open(tmp_path)


def test_a_last_line_missing_only_its_newline_is_kept_on_load_and_on_append(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    game = store.new_game("a cat", {})
    game.append(
        TurnRecord(
            seq=1,
            round=1,
            kind="draw",
            model="m",
            status="ok",
            input="a cat",
            output="r0001-draw.png",
        )
    )
    game.append(
        TurnRecord(
            seq=2, round=1, kind="describe", model="m", status="ok", input="p", output="a cat"
        )
    )
    raw = game.journal.read_bytes()
    game.journal.write_bytes(raw.rstrip(b"\n"))  # the crash took only the newline
    again = GameDir.open(game.path)
    assert [r.seq for r in again.records] == [1, 2]
    again.append(
        TurnRecord(
            seq=3,
            round=2,
            kind="draw",
            model="m",
            status="ok",
            input="a cat",
            output="r0002-draw.png",
        )
    )
    (game.path / "r0002-draw.png").write_bytes(b"\x89PNG")
    final = GameDir.open(game.path)
    assert [r.seq for r in final.records] == [1, 2, 3] and final.warnings == []


def test_a_games_rounds_and_spend_are_counted_as_its_journal_grows(tmp_path: Path) -> None:
    """The status line asks every turn: counted as turns are appended (not by walking the
    whole journal), and always what the journal says, after a reload too."""
    from telestrations.turns import rounds_done

    game = Store(tmp_path).new_game("p", {})
    costs = [0.04, None, 0.001, None, 0.02]
    for i in range(1, 41):
        kind = "draw" if i % 2 else "describe"
        status = "failed" if i % 7 == 0 else "ok"
        game.append(rec(i, (i + 1) // 2, kind, f"o{i}", status, cost=costs[i % 5]))
        assert game.rounds_done == rounds_done(game.records)
        assert game.spent == total_cost(game.records)
    again = GameDir.open(game.path)
    assert (again.rounds_done, again.spent) == (game.rounds_done, game.spent)
    game.records = game.records[:9]  # another list: counted afresh
    assert (game.rounds_done, game.spent) == (rounds_done(game.records), total_cost(game.records))
