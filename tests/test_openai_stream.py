"""The OpenAI guesser's streamed captions (server-sent events) against the fake API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telestrations.providers.base import ProviderError, partial_captions
from telestrations.providers.http import SseDecoder
from telestrations.providers.openai import (
    OpenAIProvider,
    chat_watcher,
    parse_stream,
)
from tests.fakes.openai_api import CHAT, GPT_IMAGE, REFUSAL, FakeOpenAI
from tests.fakes.server import json_reply
from tests.test_openai_provider import KEY, PROMPT, SYSTEM, Models, make, picture, posted

CAPTION = "A 64x48 png drawing of a purple circle"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=CHAT).start()
    yield api  # type: ignore[misc]
    api.stop()


@pytest.fixture
def compat() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=None, models=("llava",), compat=True).start()
    yield api  # type: ignore[misc]
    api.stop()


async def describe(
    p: OpenAIProvider, name: str = "gpt-4o-mini", prompt: str = PROMPT
) -> tuple[Any, list[tuple[float, str]]]:
    """Describe a picture, recording each partial caption with the loop time it arrived."""
    model = p.model(name, "guesser")
    assert model is not None
    seen: list[tuple[float, str]] = []
    loop = asyncio.get_running_loop()
    try:
        with partial_captions(lambda text: seen.append((loop.time(), text))):
            return await p.guesser(model).describe(picture(), SYSTEM, prompt), seen
    finally:
        await p.aclose()


# -- streaming on api.openai.com -----------------------------------------------------------------


async def test_streamed_caption_is_reported_word_by_word_as_it_arrives(fake: FakeOpenAI) -> None:
    fake.token_delay = 0.02
    loop = asyncio.get_running_loop()
    caption, seen = await describe(make(fake))
    done = loop.time()
    texts = [t for _, t in seen]
    assert len(texts) == len(CAPTION.split()), texts  # one report per word
    assert all(b.startswith(a) and len(b) > len(a) for a, b in itertools.pairwise(texts))
    assert texts[0] == "A" and texts[-1] == caption.text == CAPTION
    # the first words were shown while the rest was still being generated
    assert done - seen[0][0] >= 0.1
    body = posted(fake, "/v1/chat/completions")[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    # the cost comes from the usage-only chunk at the end of the stream
    prompt_tokens = len(SYSTEM.split()) + len(PROMPT.split()) + 85
    assert caption.extras["usage"] == {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": 8,
        "total_tokens": prompt_tokens + 8,
    }
    assert caption.cost == pytest.approx((prompt_tokens * 0.15 + 8 * 0.60) / 1e6)
    assert caption.extras["finish_reason"] == "stop"
    assert caption.extras["model"] == "gpt-4o-mini-2026-01-01"


async def test_streamed_refusal_is_refused_and_never_shown_as_a_caption(fake: FakeOpenAI) -> None:
    with pytest.raises(ProviderError) as info:
        await describe(make(fake), prompt="describe the forbidden thing")
    assert info.value.kind == "refused" and REFUSAL in info.value.message
    assert posted(fake, "/v1/chat/completions")[0]["stream"] is True


async def test_whole_budget_spent_thinking_while_streaming(fake: FakeOpenAI) -> None:
    opts = {"max_tokens": 30, "reasoning_effort": "low"}
    p = make(fake, {"models": [{"name": "gpt-5-mini", "kind": "guesser", "options": opts}]})
    with pytest.raises(ProviderError) as info:
        await describe(p, "gpt-5-mini")
    assert info.value.kind == "bad_response" and "max_tokens" in info.value.hint
    assert "whole token budget" in info.value.message


@pytest.mark.parametrize(
    ("error", "kind", "in_hint"),
    [
        (
            {
                "message": "The server had an error while processing your request. Sorry!",
                "type": "server_error",
                "param": None,
                "code": None,
            },
            "server",
            "try again",
        ),
        (
            {
                "message": "You exceeded your current quota, please check your plan.",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            },
            "quota",
            "billing",
        ),
        (
            {
                "message": f"Incorrect API key provided: {KEY}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            },
            "auth",
            "keys set openai",
        ),
    ],
)
async def test_error_inside_the_stream(
    fake: FakeOpenAI, error: dict[str, Any], kind: str, in_hint: str
) -> None:
    fake.stream_error = error
    p = make(fake)
    model = p.model("gpt-4o-mini", "guesser")
    assert model is not None
    seen: list[str] = []
    with pytest.raises(ProviderError) as info, partial_captions(seen.append):
        await p.guesser(model).describe(picture(), SYSTEM, PROMPT)
    await p.aclose()
    err = info.value
    assert (err.kind, err.status) == (kind, 200)
    assert in_hint in err.hint
    assert error["message"].split(":")[0] in err.message
    assert KEY not in str(err)
    assert seen == ["A"]  # the word before the error was shown; the error decides the turn
    assert len(posted(fake, "/v1/chat/completions")) == 1  # not retried


async def test_error_object_with_200_and_plain_json(fake: FakeOpenAI) -> None:
    quota = {"message": "You exceeded your current quota.", "type": "insufficient_quota"}
    fake.script.append(json_reply(200, {"error": {**quota, "param": None, "code": None}}))
    with pytest.raises(ProviderError) as info:
        await describe(make(fake))
    assert info.value.kind == "quota"


@pytest.mark.parametrize("cut_after", [4, 11])  # mid-caption; everything but `data: [DONE]`
async def test_truncated_stream_is_a_clear_bad_response(fake: FakeOpenAI, cut_after: int) -> None:
    fake.stream_cut_after = cut_after
    with pytest.raises(ProviderError) as info:
        await describe(make(fake))
    err = info.value
    assert err.kind == "bad_response" and "[DONE]" in err.message
    assert "stopped before it was complete" in err.message
    assert "stream = false" in err.hint


# -- compatible servers --------------------------------------------------------------------------


async def test_compatible_server_streams_without_stream_options(compat: FakeOpenAI) -> None:
    compat.token_delay = 0.01
    caption, seen = await describe(make(compat, key=None, official=False), "llava")
    body = posted(compat, "/v1/chat/completions")[0]
    assert body["stream"] is True and "stream_options" not in body
    assert [t for _, t in seen][-1] == caption.text == CAPTION
    assert len(seen) == 8
    assert caption.cost is None and "usage" not in caption.extras  # no usage chunk asked for


async def test_compatible_server_answering_json_to_a_stream_request(compat: FakeOpenAI) -> None:
    compat.compat_stream = "ignore"
    caption, seen = await describe(make(compat, key=None, official=False), "llava")
    assert posted(compat, "/v1/chat/completions")[0]["stream"] is True
    assert caption.text == CAPTION and seen == []
    assert caption.extras["usage"]["completion_tokens"] == 8


async def test_compatible_server_rejecting_stream_is_asked_again_without_it(
    compat: FakeOpenAI,
) -> None:
    compat.compat_stream = "reject"
    p = make(compat, key=None, official=False)
    guesser = p.guesser(p.model("llava", "guesser"))  # type: ignore[arg-type]
    assert (await guesser.describe(picture(), SYSTEM, PROMPT)).text == CAPTION
    assert (await guesser.describe(picture(), SYSTEM, PROMPT)).text == CAPTION
    await p.aclose()
    bodies = posted(compat, "/v1/chat/completions")
    assert ["stream" in b for b in bodies] == [True, False, False]  # remembered


# -- turning it off ------------------------------------------------------------------------------


async def test_stream_false_sends_no_stream_and_reports_nothing(fake: FakeOpenAI) -> None:
    caption, seen = await describe(make(fake, {"stream": False}))
    body = posted(fake, "/v1/chat/completions")[0]
    assert "stream" not in body and "stream_options" not in body
    assert caption.text == CAPTION and seen == []
    assert caption.cost is not None and caption.cost > 0  # usage from the JSON answer


async def test_model_option_beats_the_provider_setting(fake: FakeOpenAI) -> None:
    settings = {
        "stream": False,
        "models": [{"name": "gpt-4o", "kind": "guesser", "options": {"stream": True}}],
    }
    _, seen = await describe(make(fake, settings), "gpt-4o")
    assert len(seen) == 8
    settings = {"models": [{"name": "gpt-4o", "kind": "guesser", "options": {"stream": False}}]}
    _, seen = await describe(make(fake, settings), "gpt-4o")
    assert seen == []
    assert ["stream" in b for b in posted(fake, "/v1/chat/completions")] == [True, False]


async def test_bad_stream_values_are_rejected(fake: FakeOpenAI) -> None:
    with pytest.raises(ValueError, match="stream"):
        make(fake, {"stream": "yes"})
    p = make(fake, {"models": [{"name": "gpt-4o", "kind": "guesser", "options": {"stream": 1}}]})
    with pytest.raises(ProviderError) as info:
        p.guesser(p.model("gpt-4o", "guesser"))  # type: ignore[arg-type]
    assert info.value.kind == "bad_request" and "stream" in info.value.message
    await p.aclose()


# -- the event-stream parsers --------------------------------------------------------------------


def _events(*chunks: dict[str, Any] | str, sep: str = "\n") -> bytes:
    lines = [f"data: {c if isinstance(c, str) else json.dumps(c)}{sep}{sep}" for c in chunks]
    return "".join(lines).encode()


def _delta(**delta: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}


def test_watcher_copes_with_any_split_crlf_comments_and_multibyte_text() -> None:
    body = (
        b": keep-alive\r\n\r\n"
        + _events(_delta(role="assistant", content=""), sep="\r\n")
        + _events(
            _delta(content="Un caf\u00e9"), _delta(content=" cr\u00e8me"), "[DONE]", sep="\r\n"
        )
    )
    reported: list[str] = []
    watch = chat_watcher(reported.append)
    watch(b"")
    for i in range(len(body)):  # one byte at a time: splits CRLFs and UTF-8 sequences
        watch(body[i : i + 1])
    assert reported == ["Un caf\u00e9", "Un caf\u00e9 cr\u00e8me"]
    watch(b"")  # a retry starts over
    watch(_events(_delta(content="Again")))
    assert reported[-1] == "Again"


def test_parse_stream_assembles_the_whole_answer() -> None:
    body = _events(
        {**_delta(role="assistant", content=""), "model": "m-1"},
        _delta(content="A cat"),
        _delta(content=" on a\nbike"),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
        "[DONE]",
    )
    data = parse_stream(body, "OpenAI")
    assert data["model"] == "m-1" and data["usage"] == {"prompt_tokens": 3, "completion_tokens": 4}
    choice = data["choices"][0]
    assert choice["message"]["content"] == "A cat on a\nbike"
    assert choice["finish_reason"] == "stop" and choice["message"]["refusal"] == ""
    # multi-line data fields join with a newline; a missing final blank line is tolerated
    decoder = SseDecoder()
    assert decoder.feed("event: error\ndata: one\ndata: two") == []
    assert decoder.close() == [("error", "one\ntwo")]


def test_parse_stream_reports_errors_and_garbage() -> None:
    assert parse_stream(_events(_delta(content="A"), {"error": {"message": "boom"}}), "X") == {
        "error": {"message": "boom"}
    }
    flat = {"object": "error", "message": "vLLM says no", "type": "BadRequestError", "code": 400}
    assert parse_stream(_events(flat), "X") == {"error": flat}
    with pytest.raises(ProviderError, match="not JSON"):
        parse_stream(b"data: {oops\n\n", "X")
    with pytest.raises(ProviderError, match="empty answer stream"):
        parse_stream(b": just a comment\n\n", "X")


async def test_nobody_listening_means_the_stream_is_not_watched(tmp_path: Path) -> None:
    """A game whose only subscriber prints finished turns (``telestrations run``) does not
    parse the caption's events as they arrive; one that shows them (the app) does. Either way
    the request streams and the caption is the whole answer."""
    from telestrations.game import CaptionGrowing, CaptionReady, Game, Limits, Settings
    from telestrations.providers.http.streaming import StreamWatcher
    from telestrations.store import Store

    fake = FakeOpenAI(key=KEY, models=GPT_IMAGE + CHAT).start()
    fake.token_delay = 0.01
    WHOLE = "A 1024x1024 png drawing of a purple circle"  # the fake describes what it got
    provider = make(fake)
    calls = 0
    original = StreamWatcher.__call__

    def counted(self: StreamWatcher, chunk: bytes) -> None:
        nonlocal calls
        calls += 1
        original(self, chunk)

    async def play(partials: bool) -> tuple[list[object], int]:
        nonlocal calls
        calls = 0
        game_dir = Store(tmp_path / str(partials)).new_game("a red house", {})
        settings = Settings(drawer="openai:gpt-image-1", guesser="openai:gpt-4o-mini", pace=0)
        game = Game(game_dir, Models(provider), settings, Limits(rounds=1))
        events: list[object] = []
        game.subscribe(events.append, partials=partials)
        game.start()
        await game.wait()
        assert game.rounds_done == 1, game.reason
        return events, calls

    StreamWatcher.__call__ = counted  # type: ignore[method-assign]
    try:
        quiet, quiet_calls = await play(False)
        shown, shown_calls = await play(True)
    finally:
        StreamWatcher.__call__ = original  # type: ignore[method-assign]
        await provider.aclose()
        fake.stop()
    for events in (quiet, shown):
        ready = [e for e in events if isinstance(e, CaptionReady)]
        assert [e.record.output for e in ready] == [WHOLE]
    assert not any(isinstance(e, CaptionGrowing) for e in quiet) and quiet_calls == 0
    grown = [e.text for e in shown if isinstance(e, CaptionGrowing)]
    assert shown_calls > 1 and grown[-1] == WHOLE
    streamed = [json.loads(r.body) for r in fake.requests if r.path == "/v1/chat/completions"]
    assert len(streamed) == 2 and all(b["stream"] is True for b in streamed)
