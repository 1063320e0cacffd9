"""What the app's connections send to PostgreSQL, for tests that count the questions (round trips) a page asks."""

from __future__ import annotations

import asyncpg

# What a new engine asks once, on its first connection (the server's version and settings): not a page's question.
ENGINE_START = ("select ", "show ")


def record_statements(monkeypatch, methods: tuple[str, ...] = ("prepare", "_execute")) -> list[str]:
    """The text of every statement given to asyncpg's ``methods`` from now on (until ``monkeypatch`` undoes it):
    ``prepare`` is what SQLAlchemy sends (it prepares each statement), ``_execute`` what the app sends on the
    driver itself (``fetchrow`` and the like), ``execute`` the simple-protocol messages (BEGIN, COMMIT and what
    travels with them)."""
    sent: list[str] = []
    for method in methods:
        original = getattr(asyncpg.Connection, method)

        async def spy(self, query, *args, _original=original, **kwargs):
            sent.append(query)
            return await _original(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, method, spy)
    return sent


def questions(sent: list[str]) -> list[str]:
    """``sent`` without what a new engine asks on its first connection."""
    return [query for query in sent if not query.startswith(ENGINE_START)]
