"""The one exception type for every user-caused problem with benchmark data."""

from __future__ import annotations


class BenchmarkError(Exception):
    """A benchmark cannot be resolved, fetched or read. The message is one line: what is wrong, what to do."""


class BenchmarkDataWarning(UserWarning):
    """A local benchmark file differs from the pinned one (it is used, and its checksum is recorded)."""
