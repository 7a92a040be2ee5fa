from pathlib import Path

import pytest

from audiocodes_endpoint.config.endpoint import SettingsError, load_endpoints
from audiocodes_endpoint.config.secrets import SecretUnavailable, resolve_secret

AGENT = Path(__file__).parents[2] / "agent"


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "endpoints").mkdir(exist_ok=True)
    (tmp_path / "endpoints" / name).write_text(text)
    return tmp_path


def test_the_demo_agent_endpoints_load():
    endpoints = load_endpoints(AGENT)
    assert endpoints["demo"].flow == "main"
    assert endpoints["demo"].bot_token.startswith("ssm:")


def test_defaults_are_safe(tmp_path):
    endpoints = load_endpoints(write(tmp_path, "a.yaml", "url_token: a\nflow: main\nbot_token: env:A_TOKEN\n"))
    settings = endpoints["a"]
    assert settings.async_mode is False and settings.limits.allow_private_network is False
    assert settings.session.expires_seconds == 120 and settings.session.idle_seconds == 180
    assert settings.name == "a"


def test_a_typo_fails_with_the_file_and_the_key(tmp_path):
    agent = write(tmp_path, "a.yaml", "url_token: a\nflow: main\nbot_token: env:X\nsesion: {}\n")
    with pytest.raises(SettingsError, match=r"a\.yaml: sesion: Extra inputs are not permitted"):
        load_endpoints(agent)


def test_a_wrong_type_fails_with_the_nested_key(tmp_path):
    agent = write(tmp_path, "a.yaml", "url_token: a\nflow: main\nbot_token: env:X\nsession: {expires_seconds: soon}\n")
    with pytest.raises(SettingsError, match=r"session\.expires_seconds"):
        load_endpoints(agent)


def test_a_literal_secret_is_refused(tmp_path):
    agent = write(tmp_path, "a.yaml", "url_token: a\nflow: main\nbot_token: hunter2\n")
    with pytest.raises(SettingsError, match="never the secret"):
        load_endpoints(agent)


def test_two_endpoints_cannot_share_a_url_token(tmp_path):
    write(tmp_path, "a.yaml", "url_token: same\nflow: main\nbot_token: env:X\n")
    write(tmp_path, "b.yaml", "url_token: same\nflow: main\nbot_token: env:X\n")
    with pytest.raises(SettingsError, match="already used"):
        load_endpoints(tmp_path)


def test_variables_expand_environment_references(tmp_path, monkeypatch):
    monkeypatch.setenv("API_BASE", "http://api.local")
    text = "url_token: a\nflow: main\nbot_token: env:X\nvariables: {a: '${API_BASE}/v1', b: '${MISSING:-fallback}'}\n"
    settings = load_endpoints(write(tmp_path, "a.yaml", text))["a"]
    assert settings.variables == {"a": "http://api.local/v1", "b": "fallback"}


def test_env_secret_references_read_the_environment(monkeypatch):
    monkeypatch.setenv("SOME_TOKEN", "s3cret")
    assert resolve_secret("env:SOME_TOKEN") == "s3cret"
    monkeypatch.delenv("SOME_TOKEN")
    with pytest.raises(SecretUnavailable, match="env:SOME_TOKEN: not set"):
        resolve_secret("env:SOME_TOKEN")
    monkeypatch.setenv("SOME_TOKEN", "")
    with pytest.raises(SecretUnavailable, match="env:SOME_TOKEN: empty"):
        resolve_secret("env:SOME_TOKEN")
    assert resolve_secret(None) is None
