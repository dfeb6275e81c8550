"""What the App remembers besides jobs: installations and its PR comments.

Kept in the same SQLite file as the queue. Installations feed the start-up
reconcile; the sticky comment's id and body hash spare a listing of the
pull request's comments, and an identical body is never sent again.
"""

from __future__ import annotations

import time

from app.queue import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS installations (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS installation_repos (
    installation INTEGER NOT NULL,
    repo TEXT NOT NULL,
    PRIMARY KEY (installation, repo)
);
CREATE TABLE IF NOT EXISTS comments (
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    comment_id INTEGER NOT NULL,
    body_hash TEXT NOT NULL,
    PRIMARY KEY (repo, pr)
);
"""


class SqliteState:
    def __init__(self, path: str) -> None:
        self.db = connect(path)
        self.db.executescript(_SCHEMA)

    # -- installations --------------------------------------------------------

    def remember_installation(self, installation: int, account: str = "", repos: list[str] | None = None) -> None:
        self.db.execute(
            "INSERT INTO installations (id, account, updated) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET account = CASE WHEN excluded.account != '' THEN excluded.account"
            " ELSE account END, updated = excluded.updated",
            (installation, account, time.time()),
        )
        if repos:
            self.add_repos(installation, repos)

    def add_repos(self, installation: int, repos: list[str]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO installation_repos (installation, repo) VALUES (?, ?)",
            [(installation, repo) for repo in repos],
        )

    def remove_repos(self, installation: int, repos: list[str]) -> None:
        self.db.executemany(
            "DELETE FROM installation_repos WHERE installation = ? AND repo = ?", [(installation, r) for r in repos]
        )

    def forget_installation(self, installation: int) -> None:
        self.db.execute("DELETE FROM installations WHERE id = ?", (installation,))
        self.db.execute("DELETE FROM installation_repos WHERE installation = ?", (installation,))

    def installations(self) -> list[int]:
        return [int(row[0]) for row in self.db.execute("SELECT id FROM installations ORDER BY updated DESC")]

    def is_known(self, installation: int) -> bool:
        return self.db.execute("SELECT 1 FROM installations WHERE id = ?", (installation,)).fetchone() is not None

    # -- the sticky comment ---------------------------------------------------

    def comment(self, repo: str, pr: int) -> tuple[int, str] | None:
        row = self.db.execute(
            "SELECT comment_id, body_hash FROM comments WHERE repo = ? AND pr = ?", (repo, pr)
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def remember_comment(self, repo: str, pr: int, comment_id: int, body_hash: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO comments (repo, pr, comment_id, body_hash) VALUES (?, ?, ?, ?)",
            (repo, pr, comment_id, body_hash),
        )

    def forget_comment(self, repo: str, pr: int) -> None:
        self.db.execute("DELETE FROM comments WHERE repo = ? AND pr = ?", (repo, pr))

    def close(self) -> None:
        self.db.close()
