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


def kill_tree(proc: subprocess.Popen) -> None:
    """A `kyosei run` that failed its test: it and its uvicorn workers, which SIGKILL of the parent leaves behind."""
    if proc.poll() is not None:
        return
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.kill()
    proc.wait()
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


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
        kill_tree(proc)
    time.sleep(0.5)
    assert postgres_processes(data_dir / "pg") == []


def test_run_with_two_workers_prepares_once_and_both_workers_answer_logged_in_requests(database_urls, tmp_path):
    """Start-up work (migrations, seeding) happens once in the parent; the two workers both serve pages."""
    import json
    import threading

    from tests.sessions import open_session

    session = open_session(database_urls, "394017", ("staff",))
    port = free_port()
    env = cli_env(DATABASE_URL=database_urls.owner, DATABASE_APP_URL=database_urls.app, KYOSEI_WORKERS="2",
                  KYOSEI_DATA_DIR=str(tmp_path), KYOSEI_PORT=str(port), LOG_FORMAT="json")
    proc = subprocess.Popen([KYOSEI, "run", "--no-keycloak"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()

    def answering_workers() -> set[int]:
        found = set()
        for line in list(lines):
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("event") == "request" and entry.get("path") == "/cases" and entry.get("status") == 200:
                    found.add(entry["worker"])
        return found

    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "kyosei" not in p.name()
                   and p.status() != psutil.STATUS_ZOMBIE]
        assert len(workers) >= 2, "".join(lines)
        # Separate connections, several at a time: the kernel hands them to whichever worker accepts first.
        deadline = time.monotonic() + 60
        while len(answering_workers()) < 2 and time.monotonic() < deadline:
            clients = [httpx.Client(base_url=base, cookies={"kyosei_session": session.raw}, timeout=10)
                       for _ in range(8)]
            try:
                threads = [threading.Thread(target=c.get, args=("/cases",)) for c in clients]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            finally:
                for c in clients:
                    c.close()
            time.sleep(0.3)
        assert len(answering_workers()) == 2, "".join(lines)
        assert proc.pid not in answering_workers()  # the parent prepares; it does not serve
        output = "".join(lines)
        assert output.count("registry: ") == 1 and output.count("demo tenants added") == 1
        assert "with 2 worker(s)" in output
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        # The workers (and multiprocessing's resource tracker, which leaves when its pipe closes) end with the
        # parent; on a loaded machine the last of them may need a moment after the parent's exit.
        _, left_running = psutil.wait_procs(workers, timeout=15)
        assert not [p for p in left_running if p.status() != psutil.STATUS_ZOMBIE]
    finally:
        kill_tree(proc)


def test_serve_only_serves_the_migrated_database(database_urls, tmp_path):
    """The production command: no migrations, seeding or Keycloak, just the workers answering."""
    port = free_port()
    env = cli_env(DATABASE_URL=database_urls.owner, DATABASE_APP_URL=database_urls.app, KYOSEI_WORKERS="1",
                  KYOSEI_DATA_DIR=str(tmp_path), KYOSEI_PORT=str(port), LOG_FORMAT="json")
    proc = subprocess.Popen([KYOSEI, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
            except httpx.HTTPError:
                time.sleep(0.3)
        assert status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        output = proc.stdout.read()
        assert "registry: " not in output and "demo tenants" not in output and "Keycloak" not in output
    finally:
        kill_tree(proc)
