"""Where Ollama lives: ``OLLAMA_HOST`` parsed as Ollama itself does, a RunPod pod's proxy URL,
and the order in which they are chosen (see the package docstring)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telestrations.providers.http import shown_url

DEFAULT_PORT = 11434
DEFAULT_HOST = f"http://127.0.0.1:{DEFAULT_PORT}"

# -- where Ollama lives -------------------------------------------------------------------------


def parse_ollama_host(value: str) -> str:
    """The base URL a client connects to for an ``OLLAMA_HOST`` value.

    Mirrors Ollama's ``envconfig.Host`` + ``ConnectableHost``: quotes and spaces are trimmed;
    no scheme means http (and port 11434); ``http://host`` means port 80 and ``https://host``
    443; an invalid port falls back to the default; a path is kept (a reverse proxy prefix);
    ``0.0.0.0``/``::`` (bind addresses) become loopback.
    """
    s = value.strip().strip("\"'").strip()
    default_port = str(DEFAULT_PORT)
    scheme, sep, hostport = s.partition("://")
    if not sep:
        scheme, hostport = "http", s
        if s == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    elif scheme == "http":
        default_port = "80"
    elif scheme == "https":
        default_port = "443"
    hostport, _, path = hostport.partition("/")
    userinfo, at, hostport = hostport.rpartition("@")  # basic auth behind a proxy: kept
    split = _split_host_port(hostport)
    if split is None:
        host, port = "127.0.0.1", default_port
        bare = hostport.strip("[]")
        try:
            host = str(ipaddress.ip_address(bare))
        except ValueError:
            if hostport:
                host = hostport
    else:
        host, port = split
    if not port.isdigit() or int(port) > 65535:
        port = default_port
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and ip.is_unspecified:
        host = "127.0.0.1" if ip.version == 4 else "::1"
    if host == "":
        host = "127.0.0.1"  # Go dials ":11434" as the local system
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{scheme}://{userinfo}{at}{netloc}" + (f"/{path}" if path else "")


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go's ``net.SplitHostPort``: ``None`` when there is no port part."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or not hostport[end + 1 :].startswith(":"):
            return None
        return hostport[1:end], hostport[end + 2 :]
    host, sep, port = hostport.rpartition(":")
    if not sep or ":" in host:
        return None
    return host, port


def runpod_proxy_url(pod_id: str, port: int = DEFAULT_PORT) -> str:
    """RunPod's HTTPS proxy for a pod's port (PROTOCOLS.md 3.7)."""
    return f"https://{pod_id.strip()}-{port}.proxy.runpod.net"


@dataclass(frozen=True)
class Endpoint:
    """Where this provider sends requests, and why (for messages)."""

    url: str
    source: str
    pod_id: str = ""

    @property
    def not_running(self) -> tuple[str, str]:
        """The reason and hint for "nothing answers there"."""
        if self.pod_id:
            return (
                f"Ollama is not reachable on RunPod pod {self.pod_id} ({shown_url(self.url)})",
                f"is pod {self.pod_id} running and exposing HTTP port 11434, "
                "with OLLAMA_HOST=0.0.0.0 set inside it?",
            )
        return f"Ollama is not running at {shown_url(self.url)}", "start it with `ollama serve`"


def choose_endpoint(env: Mapping[str, str], settings: Mapping[str, Any]) -> Endpoint:
    """Apply the precedence in the module docstring."""
    if env.get("OLLAMA_HOST", "").strip():
        return Endpoint(parse_ollama_host(env["OLLAMA_HOST"]), "OLLAMA_HOST")
    if env.get("RUNPOD_ID", "").strip():
        pod = env["RUNPOD_ID"].strip()
        return Endpoint(runpod_proxy_url(pod), "RUNPOD_ID", pod)
    if str(settings.get("host", "")).strip():
        return Endpoint(parse_ollama_host(str(settings["host"])), "config host")
    if str(settings.get("runpod_pod_id", "")).strip():
        pod = str(settings["runpod_pod_id"]).strip()
        return Endpoint(runpod_proxy_url(pod), "config runpod_pod_id", pod)
    return Endpoint(DEFAULT_HOST, "default")
