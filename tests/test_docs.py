"""The docs describe what exists: config.example.toml loads and names only real providers and
keys the code reads; README.md mentions every subcommand, option and key the app offers."""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from telestrations import cli
from telestrations.config import load_config
from telestrations.providers.registry import discover_factories, provider_specs
from telestrations.providers.spec import HttpFields, schema_fields, validate
from telestrations.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
README = ROOT / "README.md"

_KEY_LINE = re.compile(r'^#?\s*([A-Za-z_][\w-]*|"[^"]+") = ')
_SETTING_LINE = re.compile(r"^(?:# )?([a-z_]+) = ")
"""A provider setting, set or commented out (per-model options are indented further)."""
_OPTION_LINE = re.compile(r"^#   ([a-z_]+) = ")
SPECS = provider_specs()
BUILTIN = sorted(SPECS)
_MODELS_HEADER = re.compile(r"^# \[\[providers\.([\w-]+)\.models\]\]$")


@pytest.fixture(autouse=True)
def _no_other_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys conftest does not clear: they must not change what these tests see."""
    for name in ("OLLAMA_API_KEY", "AUTOMATIC1111_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def provider_sections(text: str) -> dict[str, str]:
    """``[providers.X]`` name → the text up to the next provider table (or the end)."""
    parts = re.split(r"^\[providers\.([\w-]+)\]$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def model_examples(text: str) -> list[tuple[str, str]]:
    """The commented-out ``[[providers.X.models]]`` examples: (provider, TOML uncommented)."""
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        header = _MODELS_HEADER.match(line)
        if header is None:
            continue
        body = [line[2:]]
        for following in lines[i + 1 :]:
            if not re.match(r"^# \w+ = ", following):
                break
            body.append(following[2:])
        out.append((header.group(1), "\n".join(body)))
    return out


def named_examples(text: str) -> list[tuple[str, str]]:
    """The commented-out named endpoints (``# [providers.X]`` then ``# type = ...``)."""
    found = re.findall(r"^# \[providers\.([\w-]+)\]\n((?:# \w+ = .*\n)+)", text, flags=re.M)
    return [
        (name, f"[providers.{name}]\n" + "".join(ln[2:] + "\n" for ln in body.splitlines()))
        for name, body in found
        if body.startswith("# type = ")
    ]


def test_example_named_endpoints_load(tmp_path: Path) -> None:
    """Uncommented, the named endpoint examples are providers of their own."""
    examples = named_examples(EXAMPLE.read_text("utf-8"))
    path = tmp_path / "config.toml"
    path.write_text("\n".join(block for _, block in examples))
    runtime = Runtime.load(config_file=path)
    assert runtime.registry.failures == []
    assert {name for name, _ in examples} <= set(runtime.registry.providers)
    assert set(runtime.config.instances) == {name for name, _ in examples}


def run_cli(argv: list[str]) -> tuple[int, str]:
    """The command in a process of its own, as a person runs it (``main`` sets up logging
    for the whole process, which must not leak into other tests)."""
    done = subprocess.run(
        [sys.executable, "-m", "telestrations", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_installed_entry_points_are_the_ones_in_pyproject() -> None:
    """Providers are found through the installed metadata only: after an entry point is added
    to pyproject.toml, the package must be installed again or the provider does not exist."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"][
        "entry-points"
    ]["telestrations.providers"]
    missing = sorted(set(declared) - set(discover_factories()[0]))
    assert missing == [], f"not installed: {missing}; run `pip install -e .` again"


# -- config.example.toml --------------------------------------------------------------------


def test_example_config_builds_every_provider_and_lists_models() -> None:
    config = load_config(EXAMPLE)
    runtime = Runtime.load(config_file=EXAMPLE)
    assert runtime.registry.failures == []
    assert set(config.providers) <= set(runtime.registry.providers)
    code, out = run_cli(["models", "--no-check", "--config", str(EXAMPLE)])
    assert code == 0, out
    assert "failed to load" not in out
    assert "doodle:doodle" in out


def test_example_provider_tables_name_registered_providers() -> None:
    text = EXAMPLE.read_text("utf-8")
    factories, failures = discover_factories()
    assert failures == []
    tables = set(re.findall(r"^#? ?\[\[?providers\.([\w-]+)[\].]", text, flags=re.M))
    named = {name for name, _ in named_examples(text)}
    assert named, "named endpoints are documented by example"
    assert tables - named == set(BUILTIN), "every built-in provider is documented, and only they"
    assert not named & set(BUILTIN)
    assert tables - named <= set(factories)


def test_example_model_blocks_are_valid_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uncommenting the examples gives a config that loads and whose models are listed."""
    # The OpenAI examples are for a compatible server (nothing needs to listen: no I/O here).
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    text = EXAMPLE.read_text("utf-8")
    examples = model_examples(text)
    assert {name for name, _ in examples} == set(BUILTIN), "one model example per provider"
    path = tmp_path / "config.toml"
    path.write_text(text + "\n" + "\n\n".join(block for _, block in examples) + "\n")
    runtime = Runtime.load(config_file=path)
    assert runtime.registry.failures == []
    code, out = run_cli(["models", "--no-check", "--config", str(path)])
    assert code == 0, out
    assert "failed to load" not in out
    for provider, block in examples:
        entry = tomllib.loads(block)["providers"][provider]["models"][0]
        model_id = f"{provider}:{entry['name']}"
        provider_obj, model = runtime.registry.resolve(model_id, entry["kind"])
        assert set(entry.get("options", {})) <= set(model.options), model_id
        avail = provider_obj.availability(model)  # usable, or only waiting for a key
        assert avail.ok or avail.error().kind == "auth", (model_id, avail.reason)
        assert re.search(rf"^{re.escape(model_id)}\s+{entry['kind']}\s", out, flags=re.M), model_id


def test_commented_settings_are_valid_toml() -> None:
    """Every commented-out ``key = value`` can be uncommented as it stands."""
    lines = [
        line.lstrip("#").strip()
        for line in EXAMPLE.read_text("utf-8").splitlines()
        if line.startswith("#") and _KEY_LINE.match(line)
    ]
    assert len(lines) > 60  # the check is not vacuous
    for line in lines:
        try:
            tomllib.loads(line)
        except tomllib.TOMLDecodeError as exc:
            pytest.fail(f"{line!r}: {exc}")


def _source(*modules: str) -> str:
    text = ""
    for name in modules:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        path = Path(module.__file__)
        files = sorted(path.parent.glob("*.py")) if path.name == "__init__.py" else [path]
        text += "".join(f.read_text("utf-8") for f in files)
    return text


def _http_section(text: str) -> str:
    """The comment block on the HTTP settings every network provider shares."""
    start = text.index("# HTTP settings shared")
    return text[start : text.index("# ----", start)]


def _settings_lines(text: str, name: str) -> dict[str, str]:
    """Setting → its example line in ``[providers.NAME]``, model examples left out."""
    section = re.split(r"^# \[", provider_sections(text)[name], flags=re.M)[0]
    return {m.group(1): line for line in section.splitlines() if (m := _SETTING_LINE.match(line))}


@pytest.mark.parametrize("name", BUILTIN)
def test_example_documents_exactly_the_declared_settings(name: str) -> None:
    """Checked against the provider's declared schema: every documented setting is a field,
    its example value has the field's type, and every field is documented (its own in the
    provider's table, the shared HTTP ones in the block every network provider shares)."""
    text = EXAMPLE.read_text("utf-8")
    schema = SPECS[name].settings
    fields = set(schema_fields(schema))
    lines = _settings_lines(text, name)
    assert set(lines) - fields == set(), f"documented for {name} but not declared"
    for line in lines.values():  # the commented-out ones too: uncommented, they load
        validate(schema, tomllib.loads(line.removeprefix("# ")))
    shared = set(schema_fields(HttpFields)) if issubclass(schema, HttpFields) else {"models"}
    tables = {f for f in fields if f"# [providers.{name}.{f}." in text}  # e.g. workflows
    undocumented = fields - shared - set(lines) - tables
    assert undocumented == set(), f"declared for {name} but not in config.example.toml"
    assert f"# [[providers.{name}.models]]" in text, "models are documented by example"
    http = {
        m.group(1) for line in _http_section(text).splitlines() if (m := _OPTION_LINE.match(line))
    }
    assert http == set(schema_fields(HttpFields)) - {"models"}, "the shared HTTP block"


@pytest.mark.parametrize("provider", BUILTIN)
def test_documented_model_options_are_read_by_the_code(provider: str) -> None:
    """No invented model options: each one documented for a provider (and each key of its
    model example) is a string literal in its package, the HTTP layer or the catalogue."""
    text = EXAMPLE.read_text("utf-8")
    section = provider_sections(text)[provider]
    module = SPECS[provider].build.__module__
    if module.count(".") > 2:  # a provider package (openai/, comfyui/): all of it
        module = module.rpartition(".")[0]
    keys = {m.group(1) for line in section.splitlines() if (m := _OPTION_LINE.match(line))}
    for name, block in model_examples(text):
        if name == provider:
            entry = tomllib.loads(block)["providers"][provider]["models"][0]
            keys |= set(entry) | set(entry.get("options", {}))
    assert len(keys) > 2
    source = _source(module, "telestrations.providers.http", "telestrations.providers.catalog")
    missing = sorted(k for k in keys if f'"{k}"' not in source)
    assert missing == [], f"documented for {provider} but never read: {missing}"


# -- README.md ------------------------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_readme_mentions_every_subcommand_and_option() -> None:
    readme = README.read_text("utf-8")
    parser = cli.build_parser()
    commands = _subparsers(parser)
    assert {"run", "models", "keys"} <= set(commands)
    for name, sub in commands.items():
        assert f"telestrations {name}" in readme, name
        for action in _subparsers(sub):
            assert re.search(rf"telestrations keys[^\n]*[` ]{action}\b", readme), action
    for sub in [parser, *commands.values()]:
        for action in sub._actions:
            flags = [f for f in action.option_strings if f not in ("-h", "--help")]
            if flags:
                shown = [f for f in flags if re.search(rf"[` /]{re.escape(f)}\b", readme)]
                assert shown, f"README.md never mentions {' / '.join(flags)}"


def test_readme_lists_every_key_of_the_help_screen() -> None:
    from telestrations.tui.app import TelestrationsApp
    from telestrations.tui.screens.main import Launch

    runtime = Runtime.load()
    app = TelestrationsApp(runtime, Launch("a prompt", runtime.config.game.settings()))
    rows = app.help_rows()
    assert len(rows) > 15
    readme = README.read_text("utf-8")
    quoted = {q if len(q) == 1 else q.lower() for q in re.findall(r"`([^`\n]+)`", readme)}
    for row in rows:
        for key in row.keys.split(", "):
            wanted = key if len(key) == 1 else key.lower()
            assert wanted in quoted, f"{key!r} ({row.description}) is not in README.md"


def test_keymap_ids_are_documented() -> None:
    """Every binding id can be rebound in [keymap]: config.example.toml and README name them."""
    from telestrations.tui.app import binding_classes

    classes = binding_classes()
    ids = {b.id for cls in classes for b in cls.BINDINGS if getattr(b, "id", None)}
    assert {"start", "step", "history.newest"} <= ids
    text = EXAMPLE.read_text("utf-8")
    keymap_doc = text[text.index("# Rebind TUI keys") : text.index("[keymap]")]
    readme = README.read_text("utf-8")
    for binding_id in ids:
        assert re.search(rf"(?<![\w.-]){re.escape(binding_id)}(?![\w-])", keymap_doc), binding_id
    main_ids = {b.id for cls in classes[:4] for b in cls.BINDINGS if getattr(b, "id", None)}
    for binding_id in main_ids:
        assert f"`{binding_id}`" in readme, binding_id


def test_readme_preset_table_matches_the_presets() -> None:
    """Each provider row lists exactly that provider's preset drawers and guessers."""
    readme = README.read_text("utf-8")
    runtime = Runtime.load()
    table = readme.split("## Providers and models", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = line.split(" | ")
        head = re.fullmatch(r"\| `([\w-]+)`", cells[0])
        if head is not None and len(cells) >= 4:
            rows[head.group(1)] = cells
    assert set(rows) == set(runtime.registry.providers)
    for name, cells in rows.items():
        presets = [m for m in runtime.registry.providers[name].models() if not m.discovered]
        for kind, cell in (("drawer", cells[1]), ("guesser", cells[2])):
            listed = set(re.findall(r"`([\w./-]+)`", cell))  # OpenRouter ids hold a /
            assert listed == {m.name for m in presets if m.kind == kind}, (name, kind)
