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
