"""Errors that reach a user as one line and exit status 2."""

from __future__ import annotations


class GuardianError(Exception):
    """A usage, configuration or environment problem the user must fix.

    The message is one line: what was wrong, where, and what to do.
    """

    exit_code = 2


class ConfigError(GuardianError):
    """A policy file that cannot be used as written."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


class GitError(GuardianError):
    """git refused or is missing."""
