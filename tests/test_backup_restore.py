"""Backup and restore drill: back up, restore into a fresh database, compare rows per table and the audit chain."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from core.audit.chain import verify_chain
from infra.database.backup import backup, restore, row_counts
from infra.database.provision import DATABASE, with_database, with_user
from tests.test_audit_log import append_events

KYOSEI = str(Path(sys.executable).parent / "kyosei")


def test_backup_then_restore_into_a_fresh_database_keeps_every_row_and_the_chain(pg_server, database_urls, tmp_path):
    asyncio.run(append_events(database_urls.app, "394017", 5))
    source = with_database(pg_server.superuser_url, DATABASE)
    receipt = backup(source, tmp_path / "drill.dump")
    assert receipt.size > 0 and len(receipt.sha256) == 64
    assert receipt.row_counts["audit_event"] >= 5 and receipt.row_counts["municipality"] == 35

    restored_counts = restore(pg_server.superuser_url, receipt.path, "kyosei_drill", replace=True)
    assert restored_counts == asyncio.run(row_counts(source))
    restored_owner = with_database(database_urls.owner, "kyosei_drill")
    report = asyncio.run(verify_chain(restored_owner))
    assert report.intact and report.rows_checked == receipt.row_counts["audit_event"]


def test_restore_refuses_a_database_that_is_not_empty(pg_server, tmp_path):
    import pytest

    from infra.database.backup import BackupError

    dump = backup(with_database(pg_server.superuser_url, DATABASE), tmp_path / "x.dump")
    with pytest.raises(BackupError, match="空ではありません"):
        restore(pg_server.superuser_url, dump.path, DATABASE)


def test_backup_command_on_an_external_server_needs_a_privileged_url(database_urls, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYOSEI_", "DATABASE_"))}
    env.update(DATABASE_URL=database_urls.owner, DATABASE_APP_URL=database_urls.app, KYOSEI_DATA_DIR=str(tmp_path))
    result = subprocess.run([KYOSEI, "backup"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DATABASE_BACKUP_URL" in result.stderr and "Traceback" not in result.stderr
    env["DATABASE_BACKUP_URL"] = with_user(database_urls.owner, "postgres", database=DATABASE)
    result = subprocess.run([KYOSEI, "backup", "--output", str(tmp_path / "b.dump")], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b.dump").stat().st_size > 0
