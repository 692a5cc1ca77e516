"""Where the Ollama provider connects: OLLAMA_HOST read as Ollama reads it, RUNPOD_ID, config."""

from __future__ import annotations

import pytest

from telestrations.providers.base import ProviderContext
from telestrations.providers.ollama import (
    DEFAULT_HOST,
    OllamaProvider,
    choose_endpoint,
    parse_ollama_host,
    runpod_proxy_url,
)

# Cases from Ollama's envconfig tests, plus ConnectableHost's bind-address rewrite.
HOSTS = [
    ("", "http://127.0.0.1:11434"),
    ("1.2.3.4", "http://1.2.3.4:11434"),
    (":1234", "http://127.0.0.1:1234"),
    ("1.2.3.4:1234", "http://1.2.3.4:1234"),
    ("example.com", "http://example.com:11434"),
    ("example.com:1234", "http://example.com:1234"),
    ("localhost", "http://localhost:11434"),
    (":66000", "http://127.0.0.1:11434"),
    (":-1", "http://127.0.0.1:11434"),
    ("example.com:abc", "http://example.com:11434"),
    ("[::1]", "http://[::1]:11434"),
    ("::1", "http://[::1]:11434"),
    ("[::1]:1337", "http://[::1]:1337"),
    ("[::]", "http://[::1]:11434"),
    (" 1.2.3.4 ", "http://1.2.3.4:11434"),
    ('"1.2.3.4"', "http://1.2.3.4:11434"),
    (' " 1.2.3.4 " ', "http://1.2.3.4:11434"),
    ("'1.2.3.4'", "http://1.2.3.4:11434"),
    ("http://1.2.3.4", "http://1.2.3.4:80"),
    ("http://1.2.3.4:4321", "http://1.2.3.4:4321"),
    ("https://1.2.3.4", "https://1.2.3.4:443"),
    ("https://1.2.3.4:4321", "https://1.2.3.4:4321"),
    ("https://example.com/ollama", "https://example.com:443/ollama"),
    ("ollama.com", "https://ollama.com:443"),
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("0.0.0.0:8080", "http://127.0.0.1:8080"),
    ("http://0.0.0.0", "http://127.0.0.1:80"),
    ("http://[::]:8080", "http://[::1]:8080"),
]


@pytest.mark.parametrize(("value", "expected"), HOSTS)
def test_ollama_host_parsed_like_ollama(value: str, expected: str) -> None:
    assert parse_ollama_host(value) == expected


def test_runpod_proxy_url() -> None:
    assert runpod_proxy_url("abc123xyz") == "https://abc123xyz-11434.proxy.runpod.net"


@pytest.mark.parametrize(
    ("env", "settings", "url", "source"),
    [
        ({}, {}, DEFAULT_HOST, "default"),
        ({"OLLAMA_HOST": "gpu-box"}, {}, "http://gpu-box:11434", "OLLAMA_HOST"),
        ({"RUNPOD_ID": "pod1"}, {}, "https://pod1-11434.proxy.runpod.net", "RUNPOD_ID"),
        (
            {"OLLAMA_HOST": "gpu-box:9999", "RUNPOD_ID": "pod1"},
            {"host": "cfg", "runpod_pod_id": "pod2"},
            "http://gpu-box:9999",
            "OLLAMA_HOST",
        ),
        (
            {"RUNPOD_ID": "pod1"},
            {"host": "cfg"},
            "https://pod1-11434.proxy.runpod.net",
            "RUNPOD_ID",
        ),
        ({}, {"host": "cfg", "runpod_pod_id": "pod2"}, "http://cfg:11434", "config host"),
        (
            {},
            {"runpod_pod_id": "pod2"},
            "https://pod2-11434.proxy.runpod.net",
            "config runpod_pod_id",
        ),
        ({"OLLAMA_HOST": "  ", "RUNPOD_ID": ""}, {}, DEFAULT_HOST, "default"),
    ],
)
def test_endpoint_precedence(
    env: dict[str, str], settings: dict[str, str], url: str, source: str
) -> None:
    endpoint = choose_endpoint(env, settings)
    assert (endpoint.url, endpoint.source) == (url, source)


def test_pod_advice_names_the_pod_and_the_port() -> None:
    endpoint = choose_endpoint({"RUNPOD_ID": "pod1"}, {})
    reason, hint = endpoint.not_running
    assert "pod1" in reason
    assert "11434" in hint
    assert "OLLAMA_HOST=0.0.0.0" in hint
    local = choose_endpoint({}, {})
    assert local.not_running == (
        f"Ollama is not running at {DEFAULT_HOST}",
        "start it with `ollama serve`",
    )


async def test_provider_uses_the_chosen_endpoint() -> None:
    p = OllamaProvider(ProviderContext(env={"OLLAMA_HOST": "0.0.0.0:7777"}))
    try:
        assert p.endpoint.url == "http://127.0.0.1:7777"
    finally:
        await p.aclose()
