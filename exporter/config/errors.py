"""ConfigError, the one exception a bad config raises, and the helpers that build its key paths."""

from __future__ import annotations

from typing import Any

from exporter.messages import Problem


class ConfigError(Exception):
    """A config problem: the file, the key path it was found at, and what is wrong as a message code of
    exporter/messages.py with its parameters, written out in the operator's language by render()."""

    def __init__(self, source: str, path: str, code: str, **params: Any):
        self.source, self.path, self.problem = source, path, Problem(code, **params)
        super().__init__(source, path, code)

    @classmethod
    def of(cls, source: str, path: str, problem: ValueError) -> ConfigError:
        """The error for a Problem a value's parser raised; a library's own ValueError is shown as it wrote it."""
        if isinstance(problem, Problem):
            return cls(source, path, problem.code, **problem.params)
        return cls(source, path, "invalid_value", detail=problem)

    @property
    def message(self) -> str:
        """What is wrong, in English, without the file and key path."""
        return self.problem.render("en")

    def render(self, lang: str) -> str:
        """`file: key.path: what is wrong` in `lang`; the file, the key path and the values as written."""
        where = f"{self.path}: " if self.path else ""
        return f"{self.source}: {where}{self.problem.render(lang)}"

    def __str__(self) -> str:
        return self.render("en")


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
