"""ConfigError, the one exception a bad config raises, and the helpers that build its key paths."""

from __future__ import annotations

from typing import Any


class ConfigError(Exception):
    """A config problem, naming the file and the key path it was found at."""

    def __init__(self, source: str, path: str, message: str):
        self.source, self.path, self.message = source, path, message
        where = f"{path}: " if path else ""
        super().__init__(f"{source}: {where}{message}")



def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__

