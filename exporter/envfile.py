"""Read a `.env` file as docker compose does, for commands run outside compose (`alertmanager-config`).

The rules of compose's own reader (python-dotenv) for simple KEY=VALUE lines: blank lines and `#` lines
skipped, an optional `export `, 'single quotes' literal, "double quotes" with backslash escapes, an unquoted
value ending at ` #`, and ${NAME} or ${NAME:-default} replaced in unquoted and double-quoted values. Where
docker-compose 1 and docker compose 2 differ (${NAME} in single quotes, $NAME without braces) it is an error; a line
compose would skip or misread is an error naming the line, so a typo never silently empties a setting.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

from exporter.messages import Problem

LINE = re.compile(r"""\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=[^\S\n]*
                      (?:'(?P<single>(?:\\'|[^'])*)'|"(?P<double>(?:\\"|[^"])*)"|(?P<bare>[^'"].*|))
                      (?P<rest>.*)$""", re.X)
VARIABLE = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")
BARE_VARIABLE = re.compile(r"(?<!\$)\$[A-Za-z_]")
DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")


class EnvFileError(Problem):
    """A .env file that cannot be read, or a line of it that is not KEY=VALUE, named by file and line; rendered in
    the operator's language (exporter/messages.py).

    A value docker-compose 1 (python-dotenv) and docker compose 2 read differently is one too: which one runs is not
    ours to know, so the operator writes it the way both read alike (single quotes keep it, double quotes replace
    ${NAME})."""


def parse(text: str, path: str = ".env", environ: dict[str, str] | None = None) -> dict[str, str]:
    """The settings of a .env file's `text`, in file order; ${NAME} reads earlier lines, then `environ`."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = LINE.fullmatch(line)
        if match is None or (not match["bare"] and not re.fullmatch(r"\s*(#.*)?", match["rest"])):
            name = line.partition("=")[0].strip()[:40]  # the value is not shown: it may be a secret
            raise EnvFileError("env_line_invalid", path=path, line=number, name=name)
        if match["single"] is not None:
            if VARIABLE.search(match["single"]):
                raise EnvFileError("env_braces_in_single_quotes", path=path, line=number, name=match["key"])
            value = match["single"].replace("\\'", "'").replace("\\\\", "\\")
        else:
            if match["double"] is not None:
                value = DOUBLE_ESCAPES.sub(lambda m: codecs.decode(m[0], "unicode-escape"), match["double"])
            else:
                value = re.sub(r"\s+#.*", "", match["bare"] + match["rest"]).rstrip()
            if BARE_VARIABLE.search(value):
                raise EnvFileError("env_bare_variable", path=path, line=number, name=match["key"])
            known = {**environ, **values}
            value = VARIABLE.sub(lambda m: known.get(m["name"]) or m["default"] or "", value)
        values[match["key"]] = value
    return values


def read(path: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The settings of the .env file at `path` (see parse)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvFileError("env_missing", path=path) from None
    except PermissionError as err:
        raise EnvFileError("env_denied", path=path, detail=err.strerror) from None
    except UnicodeDecodeError:
        raise EnvFileError("env_not_utf8", path=path) from None
    except OSError as err:
        raise EnvFileError("env_unreadable", path=path, detail=err.strerror or err) from None
    return parse(text, str(path), environ)
