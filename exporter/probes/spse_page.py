"""What an SPSE 4 page says about itself: is it SPSE, which version, when its data last changed, which error.

Pure functions over the body the HTTP probe already read. Every check is tolerant: a page counts as
"not SPSE" only when it carries no sign at all of SPSE, an LPSE or e-procurement, so an LPSE whose
HTML differs (another footer, another language, a portal in front of /eproc4) is never failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from exporter.probes import ProbeFailure

# Sentences every SPSE 4 page carries (its <noscript> text), and those of its error and not-found pages.
JAVASCRIPT_NOTICE = "harap aktifkan fitur javascript pada browser anda"
ERROR_PAGE = "terjadi error pada aplikasi spse"
NOT_FOUND_PAGE = "halaman yang dituju tidak ditemukan"
# Any one of these in a page means it may well be an LPSE's, whatever its layout or language.
RELATED_WORDS = ("spse", "lpse", "eproc", "pengadaan", "procurement", "lkpp", "inaproc")
# Searched in the lowercased page: a case-insensitive pattern would cost ten times more per page.
SPACE = r"(?:\s|&nbsp;)+"  # between words in a page: any white space, a line break, &nbsp;
# Bounded, as it is spse_info's label value; a full stop after the version ends the sentence.
VERSION_RE = re.compile(rf"spse{SPACE}v(4\.[0-9a-z.]{{0,39}}[0-9a-z])(?!\.?[0-9a-z])")
UPDATE_RE = re.compile(rf"update{SPACE}terakhir:?{SPACE}(\d{{1,2}})-(\d{{1,2}})-(\d{{4}}){SPACE}(\d{{1,2}}):(\d{{2}})")
ERROR_CODE_RE = re.compile(r"Kode Error:\s*([0-9A-Za-z]{9})(?![0-9A-Za-z])")


@dataclass(frozen=True)
class SpsePage:
    """The SPSE facts found in one page; None or False where the page did not say."""

    identity: str  # "spse": an SPSE marker; "related": only LPSE/procurement words; "other": neither
    version: str | None = None  # e.g. "4.5u20230214" from "SPSE v4.5u20230214"
    data_updated_at: float | None = None  # "Update terakhir", as a Unix timestamp
    error_page: bool = False
    error_code: str | None = None  # the 9 characters after "Kode Error: "
    not_found_page: bool = False


def analyse(body: bytes, zone: tzinfo) -> SpsePage:
    """Read the SPSE facts from a page body; "Update terakhir" is read in the site's time zone `zone`."""
    text = body.decode("utf-8", errors="replace")
    lowered = text.lower()
    version = VERSION_RE.search(lowered)
    error_page = ERROR_PAGE in lowered
    code = ERROR_CODE_RE.search(text) if error_page else None
    not_found = NOT_FOUND_PAGE in lowered
    if JAVASCRIPT_NOTICE in lowered or version or error_page or not_found:
        identity = "spse"
    elif any(word in lowered for word in RELATED_WORDS):
        identity = "related"
    else:
        identity = "other"
    return SpsePage(identity=identity, version=version.group(1) if version else None,
                    data_updated_at=_update_time(lowered, zone), error_page=error_page,
                    error_code=code.group(1) if code else None, not_found_page=not_found)


def _update_time(lowered: str, zone: tzinfo) -> float | None:
    match = UPDATE_RE.search(lowered)
    if not match:
        return None
    day, month, year, hour, minute = map(int, match.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()
    except ValueError:  # 31-02-2024 and the like: say nothing rather than something wrong
        return None


def describe(page: SpsePage | None) -> str:
    """SPSE's own error or not-found page named for a failure message (with the error code), or ""."""
    if page is None:
        return ""
    if page.error_page:
        return f"SPSE error page, Kode Error: {page.error_code or 'none shown'}"
    if page.not_found_page:
        return "SPSE not-found page (Halaman yang dituju tidak ditemukan)"
    return ""


def check(page: SpsePage) -> None:
    """Fail a 2xx front page that is SPSE's error or not-found page, or clearly no SPSE page at all."""
    if page.error_page or page.not_found_page:
        raise ProbeFailure("spse_error", describe(page))
    if page.identity == "other":
        raise ProbeFailure("not_spse", "the page is not SPSE: no SPSE, LPSE or procurement text in it "
                                       "(a captive portal, parked domain, ISP or default web-server page?)")
