"""The strict YAML loader every config file of the exporter goes through: duplicate keys and deep nesting are
errors naming where they are, dates stay text, and a file that is no config (a FIFO, a huge log) is refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from exporter.config.errors import ConfigError, join

# A config of a thousand targets is about 130 kB; a file past this is a mistake (a log, an image), not
# read into memory and parsed for minutes.
MAX_CONFIG_BYTES = 1024 * 1024
# YAML nesting; the config's own goes 4 deep (targets[0].tls.ca_file). PyYAML's scanner slows with depth
# (seconds at 1,000 levels) and its composer ends in RecursionError, so deeper is refused early.
MAX_NESTING = 32


class DuplicateKeyError(yaml.YAMLError):
    """A mapping lists a key twice: plain YAML loading would keep the last one silently."""

    def __init__(self, path: str, line: int, first_line: int):
        super().__init__(f"{path}: duplicate key")
        self.path, self.line, self.first_line = path, line, first_line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys, naming the key path and both lines, and nesting
    deeper than MAX_NESTING."""

    _depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_NESTING} levels",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):
        self._paths = {}
        stack = [(node, "")]
        while stack:  # iterative with a visited set: aliases may form cycles
            current, path = stack.pop()
            if id(current) in self._paths:
                continue
            self._paths[id(current)] = path
            if isinstance(current, yaml.MappingNode):
                stack.extend((value, join(path, str(key.value))) for key, value in current.value
                             if isinstance(key, yaml.ScalarNode))
            elif isinstance(current, yaml.SequenceNode):
                stack.extend((item, f"{path}[{i}]") for i, item in enumerate(current.value))
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # merged keys may be overridden: that is what << is for
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # unhashable: SafeLoader reports it
                if first is not key_node:
                    path = join(self._paths.get(id(node), ""), str(key_node.value))
                    raise DuplicateKeyError(path, key_node.start_mark.line + 1, first.start_mark.line + 1)
        return super().construct_mapping(node, deep)


# Dates stay text (holidays: 2026-12-25), so a bad one is an error naming its key, not a bare YAML error.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def parse_yaml(text: str, source: str) -> Any:
    """Parse one YAML document with the strict loader; ConfigError naming the line or key path otherwise."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except DuplicateKeyError as err:
        raise ConfigError(source, err.path, "yaml_duplicate_key", line=err.line, first_line=err.first_line) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        if mark:
            raise ConfigError(source, "", "yaml_invalid_at", line=mark.line + 1, column=mark.column + 1,
                              detail=problem) from None
        raise ConfigError(source, "", "yaml_invalid", detail=problem) from None
    except (ValueError, TypeError, RecursionError) as err:
        raise ConfigError(source, "", "yaml_invalid", detail=err) from None


def read_text(path: str | Path, source: str, mounted: bool = False) -> str:
    """A config file's text, refusing what is no config file; `mounted`: the file may be a compose mount, so a
    directory there is what docker leaves when the file to mount was missing (README, Quick start)."""
    try:
        # O_NONBLOCK: opening a FIFO that nobody writes to would wait forever.
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):  # open() itself refuses a directory
                raise ConfigError(source, "", "file_not_regular")
            data = file.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(source, "", "file_too_large", mib=MAX_CONFIG_BYTES // 1024 // 1024)
        text = data.decode("utf-8")
    except IsADirectoryError as err:
        raise ConfigError(source, "", "file_is_directory_mount" if mounted else "file_is_directory", detail=err) from None
    except FileNotFoundError as err:
        raise ConfigError(source, "", "file_not_found", detail=err) from None
    except PermissionError as err:
        raise ConfigError(source, "", "file_denied", detail=err) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(source, "", "file_unreadable", detail=err) from None
    return text
