"""``kyosei tenants onboard / suspend / resume`` as an operator meets them (against the test database)."""

from __future__ import annotations

import subprocess

from tests.db import fetch
from tests.test_cli import KYOSEI, cli_env

CODE = "393878"  # 仁淀川町


def kyosei(database_urls, tmp_path, *args):
    env = cli_env(DATABASE_URL=database_urls.owner, DATABASE_APP_URL=database_urls.app,
                  KYOSEI_DATA_DIR=str(tmp_path), KEYCLOAK_URL="http://127.0.0.1:9", LOG_FORMAT="json")
    return subprocess.run([KYOSEI, "tenants", *args], env=env, capture_output=True, text=True, timeout=120)


def status(urls):
    rows = fetch(urls.owner, "SELECT status FROM tenant WHERE tenant_id = $1", CODE)
    return rows[0]["status"] if rows else None


def test_onboard_reports_each_step_and_a_keycloak_outage_clearly(database_urls, tmp_path):
    result = kyosei(database_urls, tmp_path, "onboard", CODE, "--admin-email", "admin@niyodogawa.example")
    assert result.returncode == 1  # Keycloak is unreachable here: the run stops there, and says so
    assert "[done   ] 利用団体として登録" in result.stdout
    assert "[failed ]" in result.stdout and "続きから再開します" in result.stdout
    assert "Traceback" not in result.stderr
    assert status(database_urls) == "active"
    again = kyosei(database_urls, tmp_path, "onboard", CODE, "--admin-email", "admin@niyodogawa.example")
    assert "[already] 利用団体として登録" in again.stdout


def test_suspend_and_resume_from_the_command_line(database_urls, tmp_path):
    if status(database_urls) is None:
        kyosei(database_urls, tmp_path, "onboard", CODE, "--admin-email", "admin@niyodogawa.example")
    suspended = kyosei(database_urls, tmp_path, "suspend", CODE, "--no-keycloak")
    assert suspended.returncode == 0, suspended.stderr
    assert "利用状況を停止" in suspended.stdout and status(database_urls) == "suspended"
    resumed = kyosei(database_urls, tmp_path, "resume", CODE, "--no-keycloak")
    assert resumed.returncode == 0 and status(database_urls) == "active"
    refused = kyosei(database_urls, tmp_path, "suspend", "390003", "--no-keycloak")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
