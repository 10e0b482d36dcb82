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

LINE = re.compile(r"""\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=[^\S\n]*
                      (?:'(?P<single>(?:\\'|[^'])*)'|"(?P<double>(?:\\"|[^"])*)"|(?P<bare>[^'"].*|))
                      (?P<rest>.*)$""", re.X)
VARIABLE = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")
BARE_VARIABLE = re.compile(r"(?<!\$)\$[A-Za-z_]")
DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")


class EnvFileError(Exception):
    """A line of a .env file that is not KEY=VALUE, named by file and line, in English and Indonesian."""


def ambiguous(path: str, number: int, key: str, form: str, bentuk: str, single: bool) -> EnvFileError:
    """A value docker-compose 1 (python-dotenv) and docker compose 2 read differently: which one runs is not ours to
    know, so the operator writes it the way both read alike (single quotes keep it, double quotes replace ${NAME})."""
    quotes, kutip = ("single", "tunggal") if single else ("double", "ganda")
    return EnvFileError(
        f"{path} line {number} ({key}): docker-compose 1 and docker compose 2 read {form} differently: write the value "
        f"in {quotes} quotes / {path} baris {number} ({key}): docker-compose 1 dan docker compose 2 membaca {bentuk} "
        f"dengan cara yang berbeda: tulis nilainya di dalam tanda kutip {kutip}")


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
            raise EnvFileError(
                f"{path} line {number} ({name}): expected NAME=value, quotes closed, nothing after them but a "
                f"# comment / {path} baris {number} ({name}): tulis dalam bentuk NAMA=nilai, tutup setiap tanda "
                "kutip, dan sesudahnya hanya boleh ada komentar #")
        if match["single"] is not None:
            if VARIABLE.search(match["single"]):
                raise ambiguous(path, number, match["key"], "${NAME} inside single quotes",
                                "${NAMA} di dalam tanda kutip tunggal", single=False)
            value = match["single"].replace("\\'", "'").replace("\\\\", "\\")
        else:
            if match["double"] is not None:
                value = DOUBLE_ESCAPES.sub(lambda m: codecs.decode(m[0], "unicode-escape"), match["double"])
            else:
                value = re.sub(r"\s+#.*", "", match["bare"] + match["rest"]).rstrip()
            if BARE_VARIABLE.search(value):
                raise ambiguous(path, number, match["key"], "$NAME without braces", "$NAMA tanpa kurung kurawal",
                                single=True)
            known = {**environ, **values}
            value = VARIABLE.sub(lambda m: known.get(m["name"]) or m["default"] or "", value)
        values[match["key"]] = value
    return values


def read(path: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The settings of the .env file at `path` (see parse)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        raise EnvFileError(f"{path}: cannot read it ({reason}) / {path}: berkas tidak dapat dibaca ({reason})") from None
    return parse(text, str(path), environ)
