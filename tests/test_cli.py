"""The command line as an operator meets it: clear failures, and a service that starts and stops cleanly."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from infra.database.embedded import free_port

KYOSEI = str(Path(sys.executable).parent / "kyosei")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYOSEI_", "DATABASE_", "KEYCLOAK_"))}
    env.update(extra)
    return env


def test_unreachable_database_url_gives_one_clear_line_and_a_failure_exit():
    result = subprocess.run(
        [KYOSEI, "db", "upgrade"],
        env=cli_env(DATABASE_URL="postgresql://kyosei_owner:pw@127.0.0.1:9/kyosei"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "database unreachable" in lines[0] and "127.0.0.1:9" in lines[0]
    assert "Traceback" not in result.stderr
    assert "pw" not in lines[0]  # no credentials in the message


def test_bad_setting_gives_one_clear_line():
    result = subprocess.run(
        [KYOSEI, "tenants", "list", "--registry"], env=cli_env(KYOSEI_PORT="eighty"), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "KYOSEI_PORT must be an integer" in result.stderr
    assert "Traceback" not in result.stderr


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue  # already exited; only the sandbox's init has not reaped it yet
            if proc.info["name"] == "postgres" and str(data_dir) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_run_serves_readyz_and_sigterm_stops_the_embedded_postgres(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    env = cli_env(KYOSEI_DATA_DIR=str(data_dir), KYOSEI_PORT=str(port), KYOSEI_PG_PORT=str(free_port()), LOG_FORMAT="json")
    proc = subprocess.Popen([KYOSEI, "run", "--no-keycloak"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
                if status == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert status == 200, proc.stdout.read().decode() if proc.poll() is not None else "not ready in 60 s"
        assert postgres_processes(data_dir / "pg"), "the embedded server should be running while serving"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.5)
    assert postgres_processes(data_dir / "pg") == []
