"""The office's own details for the Berita Acara: the letterhead (kop surat) and who signs, read from a small YAML
file (`report --letterhead kop.yml`, example in exporter/examples/kop.yml) and checked when it is read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from exporter.config.errors import type_name
from exporter.messages import Problem

LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_LOGO_BYTES = 2 * 1024 * 1024  # a letterhead logo is tens of kilobytes; more is the wrong file
TEXT_KEYS = ("instansi", "unit", "alamat", "telepon", "surel", "laman", "kota")
PERSON_KEYS = ("jabatan", "nama", "nip")
SIGNERS = ("pembuat", "mengetahui")
NIP_RE = re.compile(r"^\d{8} ?\d{6} ?\d ?\d{3}$")  # 18 digits: born, appointed, sex, number (BKN's format)


class LetterheadError(Problem):
    """A letterhead file that cannot be used, named by file and key; rendered in the operator's language."""


@dataclass(frozen=True)
class Person:
    jabatan: str = ""
    nama: str = ""
    nip: str = ""


@dataclass(frozen=True)
class Letterhead:
    """Empty fields print as the report's [PLACEHOLDERS], to be filled in by hand."""
    instansi: str = ""
    unit: str = ""
    alamat: str = ""
    telepon: str = ""
    surel: str = ""
    laman: str = ""
    kota: str = ""
    logo: tuple[bytes, str, str] | None = None  # (content, MIME type, path as written)
    pembuat: Person = field(default_factory=Person)
    mengetahui: Person = field(default_factory=Person)

    def contact(self) -> list[str]:
        """The address line's parts, each labelled as Indonesian letterheads write them."""
        labels = (("", self.alamat), ("Telp. ", self.telepon), ("Surel: ", self.surel), ("Laman: ", self.laman))
        return [label + value for label, value in labels if value]


def fail(path: Path, key: str, code: str, **params) -> LetterheadError:
    """The error at `key` of the file: a message code of exporter/messages.py and its parameters."""
    return LetterheadError("letterhead_at", path=path, key=key, problem=Problem(code, **params))


def person(path: Path, key: str, raw: object) -> Person:
    if not isinstance(raw, dict):
        raise fail(path, key, "letterhead_person")
    unknown = set(raw) - set(PERSON_KEYS)
    if unknown:
        raise fail(path, f"{key}.{sorted(unknown)[0]}", "unknown_key", allowed=", ".join(PERSON_KEYS))
    values = {name: text(path, f"{key}.{name}", raw.get(name, "")) for name in PERSON_KEYS}
    if values["nip"] and not NIP_RE.match(values["nip"]):
        raise fail(path, f"{key}.nip", "letterhead_nip")
    return Person(**values)


def text(path: Path, key: str, value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a telephone number written without quotes
    if not isinstance(value, str):
        raise fail(path, key, "not_string", type=type_name(value))
    return " ".join(value.split())


def logo(path: Path, written: object) -> tuple[bytes, str, str]:
    name = text(path, "logo", written)
    file = (path.parent / name).resolve()
    try:
        content = file.read_bytes()[:MAX_LOGO_BYTES + 1]
    except OSError as err:
        raise fail(path, "logo", "letterhead_logo_unreadable", file=file, detail=err.strerror) from None
    kind = next((mime for magic, mime in LOGO_TYPES.items() if content.startswith(magic)), None)
    if kind is None or len(content) > MAX_LOGO_BYTES:
        raise fail(path, "logo", "letterhead_logo_invalid", file=file)
    return content, kind, name


def load(path: str | Path) -> Letterhead:
    """The letterhead file at `path`; LetterheadError naming the key otherwise."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "UTF-8"
        raise LetterheadError("letterhead_unreadable", path=path, detail=reason) from None
    except yaml.YAMLError as err:
        raise LetterheadError("letterhead_yaml", path=path, detail=err) from None
    if not isinstance(raw, dict):
        raise LetterheadError("letterhead_top", path=path)
    allowed = (*TEXT_KEYS, "logo", *SIGNERS)
    unknown = sorted(set(map(str, raw)) - set(allowed))
    if unknown:
        raise fail(path, unknown[0], "unknown_key", allowed=", ".join(allowed))
    return Letterhead(**{key: text(path, key, raw[key]) for key in TEXT_KEYS if key in raw},
                      logo=logo(path, raw["logo"]) if raw.get("logo") else None,
                      **{key: person(path, key, raw[key]) for key in SIGNERS if key in raw})
