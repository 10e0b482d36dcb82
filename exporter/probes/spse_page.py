"""What an SPSE 4 page says about itself: is it SPSE, which version, when its data last changed, which error.

Pure functions over the body (and the cookie names) the HTTP probe already read. Identity comes only from
what SPSE's own pages carry (its sentences, its footer's version, its own scripts and footer structure, its
session cookie), never from text that is part of a URL the probe asked for: a captive portal or block page
echoes that URL (in a link, a hidden input, a meta refresh, its text), so "lpse", "/eproc4" or the site's name
in a page prove nothing. A page that is only LPSE-like in its own words (another layout or language) is never
failed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Iterable, Iterator
from urllib.parse import unquote_plus, urlsplit

from exporter.probes import ProbeFailure

# Sentences of SPSE 4's pages: its <noscript> notice, its error page and its not-found page.
JAVASCRIPT_NOTICE = "harap aktifkan fitur javascript pada browser anda"
ERROR_PAGE = "terjadi error pada aplikasi spse"
NOT_FOUND_PAGE = "halaman yang dituju tidak ditemukan"
# Features of SPSE's own page structure, each with the forms it takes in SPSE 4.3 to 4.5 (tests/pages/README.md
# names the sources). Each alone is weak (another site may show SPSE's logo or reuse an id): two must be present.
STRUCTURE_FEATURES = (
    ("/public/javascripts/", "/public/js/common"),  # its own scripts
    ("/public/css/application.css", "/public/images/imgng/", "/public/images/global/inaproc"),  # style, images
    ('id="footerinfo"', "id='footerinfo'", "id=footerinfo"),  # its footer block
    ("jquery.jclock", "/json/getservertime"),  # the server clock in its footer
)
# SPSE's session cookie (Play's session under SPSE's name), which it sets with its pages: one more feature.
SESSION_COOKIE = "spse_session"
# Any one of these as a word of the page's own text means it may well be an LPSE's, whatever its layout.
RELATED_WORDS = ("spse", "lpse", "eproc", "pengadaan", "procurement", "lkpp", "inaproc")
# The version as SPSE's footer writes it, read in the page's text (tags, line breaks and &nbsp; are single
# spaces there): "SPSE v4.5u20230214", "SPSE V 4.5 u20230214", "SPSE 4.4u20200715" (no "v": the build must
# follow, or "SPSE 4.3", a tender's label in SPSE's own lists, would pass for the site's version), with build
# suffixes "-rc1", "-hotfix.2", ".1". Bounded, as it is spse_info's label value; a full stop after it ends
# the sentence, and a version that runs on ("4.1.1.1...") is none.
VERSION_RE = re.compile(r"spse ?(?:(v\.? ?)|(?=4(?:\.\d+)+ ?u\d))(4\.\d{1,2}(?:\.\d{1,3}){0,2})(?: ?(u\d{6,8}))?"
                        r"((?:[-+.][0-9a-z]{1,12}(?:\.[0-9a-z]{1,6})?)?)(?!\.?[0-9a-z])")
UPDATE_RE = re.compile(r"update terakhir:? (\d{1,2})-(\d{1,2})-(\d{4}) (\d{1,2}):(\d{2})")
ERROR_CODE_RE = re.compile(r"Kode Error:\s*([0-9A-Za-z]{9})(?![0-9A-Za-z])")
HIDDEN_RE = re.compile(r"<(script|style)\b|<!--")  # where a script, a style or a comment begins
TAG_RE = re.compile(r"<[^<>]*>")  # "[^<>]": a "<" that never closes costs one scan to the next "<", not to the end
URL_LIKE_RE = re.compile(r"[/\\@%=&?#:]|\w\.\w")  # a token with one of these is a URL, a path or a host name
TOKEN_EDGES = ".,;:!?()[]{}<>\"'`|*-"
MAX_MATCHES = 50  # versions looked at per page: SPSE's tender labels come before its footer


@dataclass(frozen=True)
class SpsePage:
    """The SPSE facts found in one page; None or False where the page did not say."""

    identity: str  # "spse": an SPSE marker; "related": only LPSE/procurement words of its own; "other": neither
    version: str | None = None  # e.g. "4.5u20230214" from "SPSE v4.5u20230214"
    data_updated_at: float | None = None  # "Update terakhir", as a Unix timestamp
    error_page: bool = False
    error_code: str | None = None  # the 9 characters after "Kode Error: "
    not_found_page: bool = False


def page_text(lowered: str) -> str:
    """The text a reader sees in a lowercased page: no scripts, styles, comments or tags (each a space),
    entities decoded, every run of white space (line breaks, &nbsp;) one space."""
    text = TAG_RE.sub(" ", _without_hidden(lowered))
    return " ".join((html.unescape(text) if "&" in text else text).split())


def _without_hidden(lowered: str) -> str:
    """The page without its scripts, styles and comments, in one pass: a pattern such as "<script.*?</script>"
    scans to the page's end for every opening left unclosed, minutes for a hostile page of body_size_limit."""
    kept, position = [], 0
    while (opening := HIDDEN_RE.search(lowered, position)) is not None:
        kept.append(lowered[position:opening.start()])
        closing = f"</{opening.group(1)}" if opening.group(1) else "-->"
        end = lowered.find(closing, opening.end())
        end = lowered.find(">", end + len(closing) - 1) if end >= 0 else -1
        if end < 0:  # never closed: the rest is hidden, as a browser has it
            return " ".join(kept)
        position = end + 1
    kept.append(lowered[position:])
    return " ".join(kept)


class Echoes:
    """The URLs a probe requested, as a page may echo them back: decoded, lowercased, spaces collapsed."""

    def __init__(self, urls: Iterable[str]):
        self.urls = [" ".join(unquote_plus(url).lower().split()) for url in urls]
        self.parts = set()  # host names and the words of path segments and query values, as a page may show them
        for url in self.urls:
            try:
                parts = urlsplit(url)
                self.parts.update([parts.netloc, parts.hostname or ""])
            except ValueError:  # decoding made its host unreadable ("[" of an IPv6 address): the whole URL still counts
                continue
            for part in [*parts.path.split("/"), *re.split(r"[&=]", parts.query)]:
                self.parts.update(word.strip(TOKEN_EDGES) for word in part.split(" "))
        self.parts.discard("")

    def contain(self, text: str) -> bool:
        return any(text in url for url in self.urls)


def _own(matches: Iterator[re.Match], echoes: Echoes) -> Iterator[re.Match]:
    """The matches whose text is no part of a requested URL."""
    for count, match in enumerate(matches):
        if count >= MAX_MATCHES:
            return
        if not echoes.contain(match.group(0)):
            yield match


def _version(text: str, echoes: Echoes) -> str | None:
    """The most specific version the page names: a build ("u2023...") beats none, "v" beats no "v"."""
    best, best_rank = None, -1
    for match in _own(VERSION_RE.finditer(text), echoes):
        if match.start() and text[match.start() - 1].isalnum():  # "xspse v4": a \b in the pattern costs 4 times more
            continue
        v_form, number, build, suffix = match.groups()
        rank = 2 * bool(build) + bool(v_form)
        if rank > best_rank:
            best, best_rank = number + (build or "") + suffix, rank
    return best if best and len(best) <= 40 else None


def _has_own_words(text: str, echoes: Echoes) -> bool:
    """An LPSE or procurement word in the page's own text, not in a URL, host name or echoed part of one."""
    for word in RELATED_WORDS:  # only the tokens around each word: splitting a page into tokens costs more
        found = text.find(word)
        while found >= 0:
            end = text.find(" ", found)
            token = text[text.rfind(" ", 0, found) + 1:end if end >= 0 else len(text)].strip(TOKEN_EDGES)
            if not URL_LIKE_RE.search(token) and token not in echoes.parts:
                return True
            found = text.find(word, end) if end >= 0 else -1
    return False


def _says(text: str, words: str, echoes: Echoes) -> bool:
    """`words` are in the page and no part of a requested URL."""
    return words in text and not echoes.contain(words)


def _structure(lowered: str, echoes: Echoes, cookies: Iterable[str]) -> int:
    """How many of SPSE's structure features the answer has, outside what the requested URLs say."""
    session = any(name.lower() == SESSION_COOKIE for name in cookies)
    return session + sum(any(_says(lowered, form, echoes) for form in forms) for forms in STRUCTURE_FEATURES)


def analyse(body: bytes, zone: tzinfo, requested: Iterable[str] = (), cookies: Iterable[str] = ()) -> SpsePage:
    """Read the SPSE facts from a page body; "Update terakhir" is read in the site's time zone `zone`.
    `requested`: the URLs the probe asked for on its way to this page, whose echoes prove nothing;
    `cookies`: the names of the cookies its response set."""
    raw = body.decode("utf-8", errors="replace")
    lowered = raw.lower()
    text = page_text(lowered)
    echoes = Echoes(requested)
    version = _version(text, echoes)
    error_page = _says(text, ERROR_PAGE, echoes)
    not_found = _says(text, NOT_FOUND_PAGE, echoes)
    notice = _says(text, JAVASCRIPT_NOTICE, echoes)
    code = ERROR_CODE_RE.search(raw) if error_page else None
    if notice or version or error_page or not_found or _structure(lowered, echoes, cookies) >= 2:
        identity = "spse"
    elif _has_own_words(text, echoes):
        identity = "related"
    else:
        identity = "other"
    return SpsePage(identity=identity, version=version, data_updated_at=_update_time(text, zone, echoes),
                    error_page=error_page, error_code=code.group(1) if code else None, not_found_page=not_found)


def _update_time(text: str, zone: tzinfo, echoes: Echoes) -> float | None:
    match = next(_own(UPDATE_RE.finditer(text), echoes), None)
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
        raise ProbeFailure("not_spse", "the page is not SPSE: no SPSE marker and no SPSE, LPSE or procurement "
                                       "word of its own, only what a URL carries (a captive portal, hotspot "
                                       "login, parked domain, ISP block or default web-server page?)")
