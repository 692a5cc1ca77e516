"""config.toml validation, the keys file (0600, atomic, import) and the state file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from telestrations.config import ConfigError, config_path, data_dir, load_config
from telestrations.keys import KeyRing, KeysError, KeyStore, key_names, keys_path, mask
from telestrations.state import UiState, load_state, save_state

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_missing_default_config_means_defaults(isolated_env: Path) -> None:
    config = load_config()
    assert config.path is None
    assert config.game.drawer == "doodle:doodle"
    assert config.game.style == "Illustrate in black & white doodle style"


def test_explicit_missing_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


def test_config_values_and_env_paths(isolated_env: Path, tmp_path: Path) -> None:
    path = write(
        isolated_env / "config.toml",
        """
data_dir = "~/tele-data"
[game]
prompt = "a boat"
rounds = 3
spend_limit = 1
[ui]
images = "unicode"
[prices]
"openai:dall-e-3" = 0.05
[providers.openai]
base_url = "http://127.0.0.1:9/v1"
[[providers.openai.models]]
name = "my-model"
kind = "drawer"
""",
    )
    assert config_path() == path
    config = load_config()
    assert config.game.prompt == "a boat" and config.game.rounds == 3
    assert config.game.limits().spend == 1.0
    assert config.ui.images == "unicode"
    assert config.prices == {"openai:dall-e-3": 0.05}
    assert config.providers["openai"]["base_url"] == "http://127.0.0.1:9/v1"
    # precedence for the data dir: flag > env > config > default
    assert data_dir(config, {}, None) == Path("~/tele-data").expanduser()
    assert data_dir(config, {"TELESTRATIONS_DATA_DIR": "/e"}, None) == Path("/e")
    assert data_dir(config, {"TELESTRATIONS_DATA_DIR": "/e"}, "/f") == Path("/f")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[game]\nprompt = \n", r"config\.toml: line 2, column 10: "),
        ("[game\n", r"line 1, column 6"),
        ("[game]\nrounds = 'x'\n", r"\[game\] rounds must be int, not str"),
        ("[game]\nround = 3\n", r"unknown key 'round' in \[game\]"),
        ("colour = 1\n", r"unknown key 'colour' in top level"),
        ("[ui]\nimages = 'jpeg'\n", r"images must be one of"),
        ("[[providers.x.models]]\nname = 'a'\n", r"needs name and kind"),
    ],
)
def test_malformed_config_names_file_line_and_problem(
    isolated_env: Path, text: str, expected: str
) -> None:
    write(isolated_env / "config.toml", text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config()
    assert str(isolated_env / "config.toml") in str(info.value)
    assert "\n" not in str(info.value)


def test_example_config_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    text = EXAMPLE.read_text()
    from dataclasses import fields

    from telestrations.config import GameDefaults, UiConfig

    for cls in (GameDefaults, UiConfig):
        for f in fields(cls):
            assert f"{f.name} =" in text or f"# {f.name} =" in text, f.name
    assert config.game.drawer == "doodle:doodle"


def test_keys_file_is_0600_from_creation_and_atomic(isolated_env: Path) -> None:
    store = KeyStore(keys_path())
    store.set("OpenAI", "sk-test-1234567890")
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert json.loads(store.path.read_text()) == {"openai": "sk-test-1234567890"}
    store.set("runpod", "rp-abc")
    assert store.load() == {"openai": "sk-test-1234567890", "runpod": "rp-abc"}
    assert not [p for p in store.path.parent.iterdir() if p.name.startswith(".keys-")]


def test_loose_permissions_are_tightened(isolated_env: Path) -> None:
    store = KeyStore(keys_path())
    store.set("openai", "sk-x")
    os.chmod(store.path, 0o644)
    store.load()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_import_original_api_keys_json(isolated_env: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "api-keys.json", '{ "OPENAI": "sk-orig", "RUNPOD": "" }')
    store = KeyStore(keys_path())
    assert store.import_file(source) == (["openai"], ["RUNPOD (empty)"])
    assert store.load() == {"openai": "sk-orig"}
    with pytest.raises(KeysError):
        store.import_file(write(tmp_path / "bad.json", "[1, 2]"))


def test_import_says_what_it_left_out_and_why(isolated_env: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "k.json", '{"OPENAI": 5, "FOO": "x", "RUNPOD": "rp-1"}')
    store = KeyStore(keys_path())
    imported, skipped = store.import_file(source, key_names())
    assert imported == ["runpod"]
    assert skipped == ["OPENAI (not a string)", "FOO (no provider by that name)"]
    assert store.load() == {"runpod": "rp-1"}
    with pytest.raises(KeysError, match="line 1, column 2"):
        store.import_file(write(tmp_path / "torn.json", "{oops"))
    with pytest.raises(KeysError, match="No such file"):
        store.import_file(tmp_path / "missing.json")


def test_keyring_precedence_env_over_file(isolated_env: Path) -> None:
    store = KeyStore(keys_path())
    store.set("openai", "from-file")
    assert KeyRing(store, {}).get("openai") == "from-file"
    ring = KeyRing(store, {"OPENAI_API_KEY": "from-env"})
    assert ring.get("openai") == "from-env"
    assert [(s.name, s.source) for s in ring.sources()] == [("openai", "env OPENAI_API_KEY")]
    assert "from-env" in ring.secrets() and "from-file" in ring.secrets()
    assert KeyRing(store, {}).get("runpod") is None


def test_malformed_keys_file(isolated_env: Path) -> None:
    path = write(keys_path(), "{not json")
    with pytest.raises(KeysError, match=str(path)):
        KeyStore(path).load()


def test_mask_never_reveals_the_key() -> None:
    assert mask("sk-abcdefghijklmnop") == "sk-…mnop"
    assert mask("short") == "…"


def test_state_round_trip_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    assert load_state(path) == UiState()
    state = UiState(prompt="a cat", drawer="doodle:doodle", guesser="ollama:llava", style="")
    save_state(path, state)
    assert load_state(path) == state
    path.write_text("not = [toml")
    assert load_state(path) == UiState()


# -- [providers.NAME] against the declared schemas ------------------------------------------------


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "[providers.openai]\nstrem = false",
            "[providers.openai] unknown key 'strem'; did you mean 'stream'?",
        ),
        (
            '[providers.runpod]\nbase_ulr = "http://x"',
            "[providers.runpod] unknown key 'base_ulr'; did you mean 'base_url'?",
        ),
        (
            '[providers.comfyui]\njob_timeout = "abc"',
            "[providers.comfyui] job_timeout must be a number, not 'abc'",
        ),
        (
            "[providers.ollama]\nstream = 1",
            "[providers.ollama] stream must be true or false, not 1",
        ),
        (
            '[providers.openai]\ntoken_field = "tokens"',
            "[providers.openai] token_field must be one of",
        ),
        (
            "[providers.doodle]\nzize = 3",
            "[providers.doodle] unknown key 'zize'; did you mean 'size'?",
        ),
        (
            "[providers.automatic1111]\nmax_retries = 1.5",
            "[providers.automatic1111] max_retries must be a whole number",
        ),
    ],
)
def test_provider_tables_are_checked_against_their_schema(
    tmp_path: Path, table: str, expected: str
) -> None:
    path = write(tmp_path / "config.toml", table + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {expected}"), message
    assert "\n" not in message


def test_a_table_of_a_provider_that_is_not_installed_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", '[providers.someplugin]\nanything = "goes"\n')
    assert load_config(path).providers["someplugin"] == {"anything": "goes"}


def test_declared_keys_come_from_the_provider_specs() -> None:
    from telestrations.keys import env_vars
    from telestrations.providers.registry import declared_keys

    declared = declared_keys()
    assert {n: k.env for n, k in declared.items()} == dict(env_vars())
    assert declared["openai"].env == "OPENAI_API_KEY"
    assert declared["automatic1111"].env == "AUTOMATIC1111_PASSWORD"
    assert "doodle" not in declared and set(declared) <= set(key_names())


PLUGIN = '''
from dataclasses import dataclass

from telestrations.providers.spec import HttpFields, KeySpec, ProviderSpec, setting


@dataclass(frozen=True)
class AcmeSettings(HttpFields):
    """[providers.acme]"""

    flavour: str = setting("plain", "what the plugin draws with")


def build(ctx):
    raise RuntimeError("not needed here")


provider = ProviderSpec("acme", build, AcmeSettings, KeySpec("acme", "ACME_TOKEN"))
'''

PLUGIN_CHECK = """
import json, sys
from pathlib import Path
from telestrations.config import ConfigError, load_config
from telestrations.keys import KeyRing, KeyStore, key_names
ring = KeyRing(KeyStore(Path(sys.argv[1]) / "keys.json"), {"ACME_TOKEN": "acme-token-42"})
try:
    load_config(Path(sys.argv[2]))
    error = ""
except ConfigError as exc:
    error = str(exc)
print(json.dumps({"key": ring.get("acme"), "names": key_names(), "error": error}))
"""


def test_a_plugin_declares_its_key_and_settings(tmp_path: Path) -> None:
    """A third-party provider, installed as pip leaves it, declares its own key variable
    and settings schema: no table in telestrations knows its name."""
    site = tmp_path / "site"
    info = site / "telestrations_acme-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "telestrations_acme.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: telestrations-acme\n")
    (info / "entry_points.txt").write_text(
        "[telestrations.providers]\nacme = telestrations_acme:provider\n"
    )
    config = write(tmp_path / "config.toml", '[providers.acme]\nflavor = "x"\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(EXAMPLE.parent)])}
    done = subprocess.run(
        [sys.executable, "-c", PLUGIN_CHECK, str(tmp_path), str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    out = json.loads(done.stdout)
    assert out["key"] == "acme-token-42"
    assert "acme" in out["names"]
    assert out["error"] == (
        f"{config}: [providers.acme] unknown key 'flavor'; did you mean 'flavour'?"
    )
