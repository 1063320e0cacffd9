"""Settings are documented: every variable appears in the README's configuration table."""

import pytest

from core.settings import Settings, SettingsError, documented_variables
from tests.conftest import PROJECT_ROOT


def test_every_setting_is_in_the_readme_table():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for variable, meaning, default in documented_variables():
        assert f"| `{variable}` | {meaning} | {default} |" in readme, f"README table is out of date for {variable}"


def test_prod_requires_https(monkeypatch):
    monkeypatch.setenv("KYOSEI_ENV", "prod")
    monkeypatch.setenv("KYOSEI_PUBLIC_URL", "http://kyosei.example.jp")
    with pytest.raises(SettingsError, match="https"):
        Settings.from_env()


def test_defaults_use_the_embedded_database(monkeypatch):
    for name in ("DATABASE_URL", "KEYCLOAK_URL", "KYOSEI_PORT", "KYOSEI_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.embedded_database
    assert settings.public_url == "http://127.0.0.1:8000"


def test_workers_default_to_the_usable_cores_and_can_be_set(monkeypatch):
    from core.settings import usable_cores

    monkeypatch.delenv("KYOSEI_WORKERS", raising=False)
    assert Settings.from_env().workers == usable_cores() >= 1
    monkeypatch.setenv("KYOSEI_WORKERS", "3")
    assert Settings.from_env().workers == 3


def test_a_worker_count_that_cannot_serve_is_refused(monkeypatch):
    for raw, message in (("0", "must be between 1 and 64"), ("-2", "must be between 1 and 64"), ("two", "must be an integer")):
        monkeypatch.setenv("KYOSEI_WORKERS", raw)
        with pytest.raises(SettingsError, match=f"KYOSEI_WORKERS {message}"):
            Settings.from_env()
