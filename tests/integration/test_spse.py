"""SPSE-aware probing (issue 15): page identity, version, data age, SPSE's error page and the application
check, against fake SPSE pages built from the issue's facts and the variants that must not false-alarm."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import date, datetime, timedelta, timezone
from html import escape
from urllib.parse import quote, unquote_plus, urlencode, urlsplit

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.config import INDONESIAN_ZONES, ConfigError, SpseConfig, Target, parse_config
from exporter.probes import ProbeFailure, http
from exporter.probes.http import probe_http
from exporter.probes.spse_app import AppCheck, bases, datatables_rows, probe_spse_app, token_in
from exporter.probes.spse_page import SpsePage, analyse, check
from exporter.workhours import is_working_time, working_seconds
from tests.fakes import (CAPTIVE_PORTAL_PAGE, NGINX_WELCOME_PAGE, SPSE_ERROR_CODE, SPSE_ERROR_PAGE,
                         SPSE_NOT_FOUND_PAGE, SPSE_PAGE_UPDATED, SPSE_VERSION, WITA, FakeSPSE, free_port,
                         spse_footer, spse_front_page, spse_lelang_page)
from tests.real_servers import Nginx
from tests.stack import compress_rules, render_prometheus_config
from tests.support import ROOT, http_get, poll

WIB = INDONESIAN_ZONES["WIB"]
NO_HOLIDAYS = SpseConfig().is_holiday  # the real-exporter tests list none
UPDATED = SPSE_PAGE_UPDATED
OTHER_FOOTER = ("<footer class='site-footer'><span>Update terakhir 27-11-2026 09:30,</span> "
                f"<small>Powered by SPSE v{SPSE_VERSION}</small></footer>")
ENGLISH_PAGE = spse_front_page(
    noscript="<noscript>For a better view of the SPSE application, please enable javascript in your browser</noscript>",
    body="<h2>Tender announcements</h2>", footer=f"<div id='footer'>SPSE v{SPSE_VERSION} | Last update 27-11-2026</div>")
PORTAL_PAGE = ("<html><body><h1>LPSE Kabupaten Contoh</h1><a href='/eproc4'>Masuk ke aplikasi</a></body></html>")
PARKED_PAGE = "<html><body><h1>This domain is for sale!</h1><p>Buy it now from our registrar.</p></body></html>"


# --- the page, as pure functions -------------------------------------------------------------------

@pytest.mark.parametrize("page, identity, version, updated", [
    (spse_front_page(spse_footer(updated=UPDATED)), "spse", SPSE_VERSION, UPDATED),
    (spse_front_page(OTHER_FOOTER), "spse", SPSE_VERSION, UPDATED),               # another footer layout
    (spse_front_page(spse_footer(version=None, updated=UPDATED)), "spse", None, UPDATED),  # no version shown
    (spse_front_page(footer=""), "spse", None, None),                                    # no footer at all
    (ENGLISH_PAGE, "spse", SPSE_VERSION, None),                                          # another language
    (PORTAL_PAGE, "related", None, None),                   # an LPSE portal in front of /eproc4: tolerated
    (CAPTIVE_PORTAL_PAGE, "other", None, None),
    (NGINX_WELCOME_PAGE, "other", None, None),
    (PARKED_PAGE, "other", None, None),
    ("", "other", None, None),
], ids=["standard", "other-footer", "no-version", "no-footer", "english", "lpse-portal", "captive-portal",
        "nginx-default", "parked-domain", "empty"])
def test_page_identity_version_and_update_time(page, identity, version, updated):
    found = analyse(page.encode(), WITA)
    assert (found.identity, found.version) == (identity, version)
    assert found.data_updated_at == (updated.timestamp() if updated else None)
    if identity == "other":
        with pytest.raises(ProbeFailure) as failure:
            check(found)
        assert failure.value.reason == "not_spse"
    else:
        check(found)  # never fails a page that may be an LPSE's


def test_update_time_is_read_in_the_site_zone():
    page = spse_front_page(spse_footer(updated=UPDATED)).encode()
    # 09:30 WITA is 01:30 UTC; read as WIB the same text means an hour later.
    assert analyse(page, WITA).data_updated_at == datetime(2026, 11, 27, 1, 30, tzinfo=timezone.utc).timestamp()
    assert analyse(page, WIB).data_updated_at - analyse(page, WITA).data_updated_at == 3600
    assert analyse(b"Update terakhir 31-02-2026 10:00,", WIB).data_updated_at is None  # no such day


# --- real SPSE 4 pages and the captive-portal family (tests/pages/README.md names the sources) -----------

PAGES = ROOT / "tests" / "pages"
# (file, version, "Update terakhir"): every real layout must read as SPSE.
SPSE_PAGES = [("spse-4.3-front.html", "4.3u20191009", None), ("spse-4.5-national.html", "4.5u20250321", None),
              ("spse-4.2-footer-update.html", "4.2u20180605", UPDATED)]
# Where SPSE is served: its own name under /eproc4, the national host under /<instansi>, an address at the root.
SITE_URLS = ["https://lpse.kabcontoh.example/eproc4", "https://spse.inaproc.example/kabcontoh/eproc4/",
             "http://192.0.2.10/"]
PORTALS = sorted(path.name for path in PAGES.glob("portal-*.html"))
# A URL that carries every SPSE marker in its query: a portal that echoes it decoded shows them all.
MARKED_URL = ("https://lpse.kabcontoh.example/eproc4/public/javascripts/common.js?footer=id%3D%22footerInfo%22"
              "&clock=jquery.jclock&css=/public/css/application.css&v=SPSE%20v4.5u20230214"
              "&n=harap+aktifkan+fitur+javascript+pada+browser+anda&e=Maaf%2C+terjadi+error+pada+aplikasi+SPSE"
              "&u=Update+terakhir+27-11-2026+09%3A30&q=LPSE+Pengadaan")
# The URLs the probe asks for: an LPSE's own name, a single-label intranet name, the national host with a query.
PORTAL_URLS = ["https://lpse.kabcontoh.example/eproc4", "http://lpse/eproc4/",
               "https://spse.inaproc.example/kabcontoh/eproc4/lelang?kategori=PEKERJAAN_KONSTRUKSI&tahun=2026",
               MARKED_URL]


def page_file(name: str) -> str:
    return (PAGES / name).read_text()


def echoing(page: str, url: str) -> str:
    """A portal page showing `url` in each way such pages do: raw, encoded, escaped, decoded, host and path apart."""
    parts = urlsplit(url)
    forms = {"@URL_DECODED@": unquote_plus(url), "@URL_ESC@": quote(url, safe=""), "@URL_HTML@": escape(url),
             "@URL_JS@": url.replace("/", "\\/"), "@URL_B64@": base64.b64encode(url.encode()).decode(),
             "@HOST@": parts.netloc, "@PATH@": " / ".join(filter(None, parts.path.split("/"))), "@URL@": url}
    for placeholder, form in forms.items():
        page = page.replace(placeholder, form)
    assert "@" not in page.replace("@ ", ""), "a placeholder left unfilled"
    return page


def customised_layout() -> str:
    """SPSE 4.5's page as a site may have customised it: no version shown, its own footer, one of SPSE's scripts."""
    page = page_file("spse-4.5-national.html").replace("Aplikasi SPSE v4.5u20250321", "Aplikasi")
    for feature in ("/public/css/application.css", "/public/images/global/inaproc", 'id="footerInfo"', "jquery.jclock"):
        page = page.replace(feature, "/custom")
    return page


def portal_hops(url: str) -> list[str]:
    """What a probe asks for when a portal redirects it: the target, then the portal's login with the target."""
    return [url, f"http://portal.wifi.example/login?dst={quote(url, safe='')}"]


@pytest.mark.parametrize("url", SITE_URLS)
@pytest.mark.parametrize("name, version, updated", SPSE_PAGES)
def test_real_spse_pages_read_as_spse(name, version, updated, url):
    found = analyse(page_file(name).encode(), WITA, [url])
    assert (found.identity, found.version) == ("spse", version)
    assert found.data_updated_at == (updated.timestamp() if updated else None)
    check(found)


def test_spse_pages_are_known_by_their_own_markers_each_alone():
    """Each kind of marker is enough by itself: the notice, the version, two pieces of SPSE's structure."""
    front = page_file("spse-4.3-front.html")
    notice_only = front.replace("SPSE v4.3u20191009", "").replace("/public/", "/assets/").replace("jclock", "clock")
    assert analyse(notice_only.encode(), WITA).identity == "spse"
    national = page_file("spse-4.5-national.html")
    structure_only = national.replace("Aplikasi SPSE v4.5u20250321", "Aplikasi")
    found = analyse(structure_only.encode(), WITA)
    assert (found.identity, found.version) == ("spse", None)
    # SPSE's session cookie is one more feature, which no page text can give.
    assert analyse(customised_layout().encode(), WITA, cookies=["SPSE_SESSION"]).identity == "spse"
    assert analyse(customised_layout().encode(), WITA).identity == "related"
    assert analyse(b"<html><body>Login</body></html>", WITA, cookies=["SPSE_SESSION"]).identity == "other"
    # One piece of structure is not enough: other sites show SPSE's logo or reuse its ids.
    logo = "<html><body><img src='https://lpse.kabcontoh.example/eproc4/public/images/imgng/lpse-logo.png'></body>"
    assert analyse(logo.encode(), WITA).identity == "other"
    assert analyse(b"<div id='footerInfo'><span id='realtime'></span></div>", WITA).identity == "other"


@pytest.mark.parametrize("name, reason", [("spse-error.html", "spse_error"), ("spse-not-found.html", "spse_error")])
def test_spse_error_pages_read_as_spse_and_fail(name, reason):
    found = analyse(page_file(name).encode(), WITA, ["https://lpse.kabcontoh.example/eproc4"])
    assert found.identity == "spse" and (found.error_page or found.not_found_page)
    with pytest.raises(ProbeFailure) as failure:
        check(found)
    assert failure.value.reason == reason


@pytest.mark.parametrize("url", PORTAL_URLS, ids=["lpse-name", "intranet-name", "national-query", "marked-query"])
@pytest.mark.parametrize("name", PORTALS)
def test_captive_portal_family_never_reads_as_spse(name, url):
    page = echoing(page_file(name), url)
    assert "eproc4" in page, "the portal must echo the URL, or this proves nothing"
    for hops in ([url], portal_hops(url)):
        found = analyse(page.encode(), WITA, hops)
        assert found == SpsePage("other"), found
        with pytest.raises(ProbeFailure) as failure:
            check(found)
        assert failure.value.reason == "not_spse"


# Words a requested URL may carry: SPSE's markers, LPSE words, and any other text.
URL_WORDS = st.one_of(st.sampled_from([
    "lpse", "eproc4", "SPSE v4.5u20230214", "SPSE 4.5 u20230214", "harap aktifkan fitur javascript pada browser anda",
    "public/javascripts/common.js", "public/css/application.css", "public/images/imgng/lpse-logo.png",
    "jquery.jclock", "json/getservertime", 'id="footerInfo"', "Update terakhir 27-11-2026 09:30",
    "Maaf, terjadi error pada aplikasi SPSE", "Halaman yang dituju tidak ditemukan", "pengadaan", "LKPP",
    "inaproc", "e-procurement", "kabcontoh"]), st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789 .-_"),
                                                       min_size=1, max_size=20))


@settings(max_examples=300, deadline=None)
@given(host=st.sampled_from(["lpse.kabcontoh.example", "lpse", "spse.inaproc.example", "192.0.2.10:8080"]),
       segments=st.lists(URL_WORDS, max_size=5), query=st.lists(st.tuples(URL_WORDS, URL_WORDS), max_size=4),
       portal=st.sampled_from(PORTALS))
def test_no_echoed_url_makes_a_portal_spse(host, segments, query, portal):
    """Whatever the requested URL carries, SPSE's markers and LPSE's words included, a portal that echoes it in
    every form reads as no SPSE page at all."""
    url = f"https://{host}/" + "/".join(quote(segment, safe="/") for segment in segments)
    url += f"?{urlencode(query)}" if query else ""
    page = echoing(page_file(portal), url)
    assert analyse(page.encode(), WITA, portal_hops(url)) == SpsePage("other")


def test_markers_echoed_from_the_requested_url_do_not_count():
    """The positive control of the family: the echoing page does carry SPSE's markers, decoded from the URL;
    only knowing that they are the URL's keeps the portal from reading as SPSE."""
    page = echoing(page_file("portal-echo-text.html"), MARKED_URL).encode()
    unaware = analyse(page, WITA)
    assert unaware.identity == "spse" and unaware.version == "4.5u20230214" and unaware.error_page
    assert analyse(page, WITA, [MARKED_URL]) == SpsePage("other")
    # An SPSE page is SPSE whatever its URL says: its own markers are not in the URL.
    assert analyse(page_file("spse-4.3-front.html").encode(), WITA, [MARKED_URL]).identity == "spse"


def test_lpse_words_count_only_as_the_pages_own_words():
    """An LPSE's page of another layout stays tolerated by its own words; the same words only in a URL, a host
    name, an attribute or a script are what any portal shows."""
    url = "https://lpse.kabcontoh.example/eproc4"
    assert analyse(b"<h1>LPSE Kabupaten Contoh</h1><p>e-Procurement</p>", WITA, [url]).identity == "related"
    assert analyse(b"<h1>Selamat datang</h1><p>Layanan Pengadaan Secara Elektronik</p>", WITA, [url]).identity \
        == "related"
    for echo in ["<a href='https://lpse.kabcontoh.example/eproc4'>lpse.kabcontoh.example/eproc4</a>",
                 "<input type='hidden' name='dst' value='/eproc4/lelang'>", "<p>lpse.kabcontoh.example / eproc4</p>",
                 "<script>var lpse = 'LPSE Pengadaan';</script>", "<p>http%3A%2F%2Flpse.kabcontoh.example</p>",
                 "<!-- LPSE -->", "<title>https:\\/\\/lpse.kabcontoh.example\\/eproc4</title>"]:
        assert analyse(f"<h1>WiFi</h1>{echo}".encode(), WITA, [url]).identity == "other", echo


# Footers as SPSE writes its version, and the label each must give (issue 19: with and without "v", build
# suffixes, wrapped over lines, inside nested tags, with &nbsp;).
VERSION_FORMS = [
    ("SPSE v4.5u20230214", "4.5u20230214"),
    ("SPSE V4.5U20230214", "4.5u20230214"),
    ("SPSE 4.5u20230214", "4.5u20230214"),
    ("SPSE 4.5 u20230214", "4.5u20230214"),
    ("SPSE v 4.5 u20230214", "4.5u20230214"),
    ("SPSE v.4.5u20230214", "4.5u20230214"),
    ("Aplikasi SPSE v4.5u20250321", "4.5u20250321"),
    ("SPSE v4.4.1u20200715", "4.4.1u20200715"),
    ("SPSE v4.5u20230214-rc1", "4.5u20230214-rc1"),
    ("SPSE v4.5u20230214-hotfix.2", "4.5u20230214-hotfix.2"),
    ("SPSE v4.5u20230214.1", "4.5u20230214.1"),
    ("SPSE v4.5", "4.5"),
    ("SPSE v4.5u20230214.", "4.5u20230214"),  # a full stop ends the sentence, not the version
    ("SPSE v4.5u20230214, Update terakhir", "4.5u20230214"),
    ("SPSE\n    v4.5u20230214", "4.5u20230214"),
    ("SPSE v4.5\n      u20230214", "4.5u20230214"),
    ("SPSE&nbsp;v4.5u20230214", "4.5u20230214"),
    ("SPSE\u00a0v4.5u20230214 |", "4.5u20230214"),
    ("SPSE&#160;v4.5&#xa0;u20230214", "4.5u20230214"),
    ("<span>SPSE</span>\n<b>v4.5</b><b>u20230214</b>", "4.5u20230214"),
    ("<a href='https://inaproc.id/aplikasi#spse45' target='_blank'>Aplikasi SPSE\n v4.5u20230214</a>", "4.5u20230214"),
    ("SPSE v4.5u20230214 <!-- SPSE v4.5u20220101 -->", "4.5u20230214"),
]


@pytest.mark.parametrize("footer, version", VERSION_FORMS)
def test_version_is_read_in_every_form(footer, version):
    """In a bare footer and in SPSE 4.3's front page, whose tender labels ("spse 4.3") come before its footer."""
    assert analyse(f"<div id='footer'><p>{footer}</p></div>".encode(), WIB).version == version
    front = page_file("spse-4.3-front.html").replace("SPSE v4.3u20191009", footer)
    found = analyse(front.encode(), WIB, ["https://lpse.kabcontoh.example/eproc4"])
    assert (found.identity, found.version) == ("spse", version)


@pytest.mark.parametrize("text", ["SPSE 4.3", "<span class='label'>spse 4.3</span>", "SPSE v3.6u20150910",
                                  "lpse v4.5u20230214", "spse.inaproc.example/v4.5u20230214", "SPSEv",
                                  "SPSE v4." + "1." * 100_000])
def test_what_is_not_a_version(text):
    """A tender's label without "v" and build, another major version, another word, and a version that runs on
    without end (it would become an endless label value)."""
    assert analyse(text.encode(), WIB).version is None


VERSION_BREAKS = st.sampled_from([" ", "\n    ", "&nbsp;", "\u00a0", "</span> <span>", "\t", "&#160;"])


@settings(max_examples=300, deadline=None)
@given(minor=st.integers(0, 99), patch=st.one_of(st.none(), st.integers(0, 999)),
       build=st.one_of(st.none(), st.dates(date(2010, 1, 1), date(2099, 12, 31)).map(lambda day: f"u{day:%Y%m%d}")),
       suffix=st.sampled_from(["", "-rc1", "-hotfix.2", ".1", "+b7"]), v_form=st.sampled_from(["v", "V", "v.", ""]),
       before=VERSION_BREAKS, between=st.one_of(st.just(""), VERSION_BREAKS), prose=st.text(
           st.characters(codec="utf-8", exclude_characters="<>&"), max_size=30))
def test_version_forms_property(minor, patch, build, suffix, v_form, before, between, prose):
    """Any version SPSE may write, however the footer breaks it, gives one canonical label."""
    if not v_form and not build:
        return  # "SPSE 4.5" without "v" and build is a tender's label, tested above
    number = f"4.{minor}" + (f".{patch}" if patch is not None else "")
    footer = f"<p>{prose} SPSE{before}{v_form}{number}{between if build else ''}{build or ''}{suffix}</p><p>{prose}</p>"
    expected = (number + (build or "") + suffix)
    assert analyse(footer.encode(), WIB).version == expected


@pytest.mark.parametrize("unit", ["<script>", "<style x", "<!--", "<", "spse v4.", "<p>spse 4.3 ", "&amp;",
                                  "update terakhir 1-1-2026 ", "lpse.x/eproc4 "])
def test_hostile_pages_are_read_in_one_pass(unit):
    """A page of 1 MiB (body_size_limit's default) of openings never closed: a pattern that scans to the end
    for each one took 2.9 s for 64 KiB of "<script>", growing with the square (about 13 minutes for 1 MiB)."""
    body = (unit.encode() * (2**20 // len(unit) + 1))[:2**20]
    found = analyse(body, WITA, ["http://lpse/eproc4"])
    assert found.version is None and found.data_updated_at is None and not found.error_page


def test_version_label_stays_bounded():
    """The version becomes a label value of spse_info: bounded, whatever the page writes."""
    assert analyse(b"SPSE v4.5u20230214-hotfix.2 | SPSE v4.", WIB).version == "4.5u20230214-hotfix.2"
    assert analyse(b"SPSE v4.5u20230214-" + b"x" * 100, WIB).version == "4.5u20230214"  # no suffix, that
    assert analyse(b"<p>spse 4.3</p>" * 10_000 + b"SPSE v4.5u20230214", WIB).version is not None


@pytest.mark.parametrize("footer", ["Update terakhir: 27-11-2026 09:30,", "Update&nbsp;terakhir&nbsp;27-11-2026&nbsp;09:30",
                                    "Update terakhir\n  27-11-2026\n  09:30"])
def test_update_time_is_read_through_layout_differences(footer):
    """A colon after the words, &nbsp; or line breaks between them: the data age is still known."""
    assert analyse(f"<div id='footer'>{footer}</div>".encode(), WITA).data_updated_at == UPDATED.timestamp()


def test_error_page_and_its_code_without_a_user_regex():
    found = analyse(SPSE_ERROR_PAGE.encode(), WIB)
    assert found.error_page and found.error_code == SPSE_ERROR_CODE and found.identity == "spse"
    with pytest.raises(ProbeFailure) as failure:
        check(found)
    assert failure.value.reason == "spse_error" and SPSE_ERROR_CODE in str(failure.value)
    # Only exactly nine letters and digits are a code.
    assert analyse(b"Maaf, terjadi error pada aplikasi SPSE. Kode Error: 12345678901", WIB).error_code is None
    not_found = analyse(SPSE_NOT_FOUND_PAGE.encode(), WIB)
    assert not_found.not_found_page and not not_found.error_page
    with pytest.raises(ProbeFailure, match="not-found"):
        check(not_found)


@pytest.mark.parametrize("url, expected", [
    ("https://lpse.contoh.example/eproc4", ["https://lpse.contoh.example/eproc4"]),
    ("https://lpse.contoh.example/eproc4/", ["https://lpse.contoh.example/eproc4"]),
    ("https://lpse.contoh.example/eproc4/home?x=1", ["https://lpse.contoh.example/eproc4"]),
    ("https://lpse.contoh.example/", ["https://lpse.contoh.example", "https://lpse.contoh.example/eproc4"]),
    ("http://lpse.contoh.example:8080", ["http://lpse.contoh.example:8080", "http://lpse.contoh.example:8080/eproc4"]),
])
def test_application_base_follows_the_url(url, expected):
    assert bases(url) == expected


@pytest.mark.parametrize("script", [
    "var d = {}; d.authenticityToken = '0123abcd';",
    'd.authenticityToken="0123abcd"',           # no semicolon: JavaScript needs none at a line's end
    "data.authenticityToken = '0123abcd';\n",  # another name for the request's parameters
])
def test_token_is_read_from_the_ways_a_script_may_set_it(script):
    assert token_in(f"<script>$(function() {{ {script} }});</script>".encode()) == "0123abcd"
    assert token_in(b"<script>d.authenticityToken = '0123abcd\";</script>") is None  # quotes must pair


@pytest.mark.parametrize("body, message", [
    (b'{"draw": 1, "recordsTotal": 5, "recordsFiltered": 5, "data": [[1]]}', None),
    (b'{"draw": "1", "recordsTotal": "0", "recordsFiltered": "0", "data": []}', None),
    (SPSE_ERROR_PAGE.encode(), "answered HTML"),
    (b"Internal error", "not JSON"),
    (b"[1, 2]", "JSON list"),
    (b'{"draw": 1, "recordsTotal": 5, "data": []}', "lacks recordsFiltered"),
    (b'{"draw": 1, "recordsTotal": -1, "recordsFiltered": 5, "data": []}', "not counts"),
    (b'{"draw": 1, "recordsTotal": 5, "recordsFiltered": 5, "data": {}}', "not counts"),
    (b'{"draw": 7, "recordsTotal": 5, "recordsFiltered": 5, "data": []}', "draw 7"),
    # A peer's oddities are bad data, not an unexpected error with a traceback in the log.
    ('{"draw": 1, "recordsTotal": "\u00b2", "recordsFiltered": "0", "data": []}'.encode(), "not counts"),
    (b'{"draw": 1, "recordsTotal": "' + b"9" * 5000 + b'", "recordsFiltered": "0", "data": []}', "not counts"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
])
def test_datatables_answer(body, message):
    if message is None:
        assert datatables_rows(body) >= 0
    else:
        with pytest.raises(ProbeFailure, match=message) as failure:
            datatables_rows(body)
        assert failure.value.reason == "bad_data"


def test_config_switch_and_its_errors():
    def target(spse) -> Target:
        return parse_config(yaml.safe_dump({"targets": [{"name": "s", "url": "http://x/", "spse": spse}]})).targets[0]

    assert target(True).spse.timezone == "WIB" and target(True).spse.app_interval == 300
    assert target(False).spse is None
    settings = target({"timezone": "Asia/Jayapura", "data_max_age": "2d", "app_interval": "10m"}).spse
    assert settings.zone.utcoffset(datetime.now()) == timedelta(hours=9) and settings.data_max_age == 2 * 86400
    assert target({"timezone": "wita"}).spse.zone == WITA
    for bad, where in [("yes", "targets[0].spse: must be true, false or a mapping"),
                       ({"timezone": "Borneo"}, "targets[0].spse.timezone: unknown time zone 'Borneo'"),
                       ({"timezone": "Asia"}, "targets[0].spse.timezone: unknown time zone 'Asia'"),
                       ({"timezone": "A" * 5000}, "targets[0].spse.timezone: unknown time zone 'AAAA"),
                       ({"timezone": 7}, "targets[0].spse.timezone: must be WIB, WITA, WIT or an IANA"),
                       ({"app_interval": "5s"}, "targets[0].spse.app_interval: must be above the target's timeout"),
                       ({"app": True}, "targets[0].spse.app: unknown key")]:
        with pytest.raises(ConfigError, match=where.replace("[", r"\[").replace("]", r"\]")):
            target(bad)


# --- probes against the fake SPSE ------------------------------------------------------------------

def spse_target(url: str, **spse) -> Target:
    config = {"interval": "5s", "targets": [{"name": "site", "url": url, "timeout": "2s",
                                             "spse": spse or True}]}
    return parse_config(yaml.safe_dump(config)).targets[0]


def front(url: str, **spse):
    return asyncio.run(probe_http(spse_target(url, **spse)))


def app(url: str, **spse):
    return asyncio.run(probe_spse_app(AppCheck(spse_target(url, **spse))))


def test_front_page_of_a_healthy_site(spse):
    spse.page = spse_front_page(spse_footer(updated=UPDATED))
    result = front(spse.url, timezone="WITA")
    assert result.success, result.message
    assert result.spse.version == SPSE_VERSION and result.spse.data_updated_at == UPDATED.timestamp()


@pytest.mark.parametrize("page, reason", [(CAPTIVE_PORTAL_PAGE, "not_spse"), (NGINX_WELCOME_PAGE, "not_spse"),
                                          (SPSE_ERROR_PAGE, "spse_error"), (SPSE_NOT_FOUND_PAGE, "spse_error"),
                                          (PORTAL_PAGE, ""), (ENGLISH_PAGE, "")])
def test_front_page_with_status_200(spse, page, reason):
    spse.page = page
    result = front(spse.url)
    assert (result.reason, result.status_code) == (reason, 200), result.message
    if page == SPSE_ERROR_PAGE:
        assert SPSE_ERROR_CODE in result.message and result.spse.error_code == SPSE_ERROR_CODE


def test_error_page_with_a_server_error_status_names_its_code(spse):
    spse.set("status", status=500)
    spse.page = None
    result = front(spse.url)
    assert result.reason == "http_status"  # GATEWAY_TIMEOUT_PAGE for 504, plain text otherwise: no code
    spse.set("ok")
    spse.app = "dt_status"
    spse.status = 500
    result = app(spse.url)
    assert result.reason == "http_status" and f"Kode Error: {SPSE_ERROR_CODE}" in result.message


def test_application_check_of_a_healthy_site(spse):
    result = app(spse.url)
    assert result.success and result.message.endswith("recordsTotal 1234"), result.message
    assert result.url == spse.url + "/dt/lelang" and result.status_code == 200
    request = spse.dt_requests[-1]
    assert request["headers"]["X-Requested-With"] == "XMLHttpRequest"
    assert {key: value[0] for key, value in request["query"].items() if key != "authenticityToken"} == \
        {"draw": "1", "start": "0", "length": "1"}
    assert spse.token not in repr(result)


@pytest.mark.parametrize("base, url_path", [("", "/"), ("", ""), ("/eproc4", "/")],
                         ids=["site-at-root", "root-without-slash", "root-url-app-under-eproc4"])
def test_application_check_finds_the_base(spse, base, url_path):
    spse.base = base
    url = f"http://127.0.0.1:{spse.port}{url_path}"
    assert front(url).success
    result = app(url)
    assert result.success and result.url == f"http://127.0.0.1:{spse.port}{base}/dt/lelang", result.message


def test_application_check_looks_further_when_the_root_sends_lelang_to_the_front_page(spse):
    """A root URL whose server sends every unknown path to /eproc4 (nginx `location / { return 301 /eproc4; }`):
    /lelang lands on SPSE's front page, which sets no token, and the application lives under /eproc4."""
    spse.redirect_prefix = ("/lelang", "/eproc4")
    url = f"http://127.0.0.1:{spse.port}/"
    result = app(url)
    assert result.success and result.url == f"{spse.url}/dt/lelang", result.message


@pytest.fixture
def named_hosts(monkeypatch):
    """The probe resolves these names to 127.0.0.1, as the site's DNS (or a portal's hijack of it) would."""
    real_resolve = http.resolve

    async def resolve(host, *args):
        return ("127.0.0.1", 4) if host in NAMED_HOSTS else await real_resolve(host, *args)
    monkeypatch.setattr(http, "resolve", resolve)


NAMED_HOSTS = ("lpse.test", "lpse.kabcontoh.test", "portal.wifi.test")


def test_application_check_keeps_a_session_cookie_set_for_the_sites_name(spse, named_hosts):
    """A session cookie with Domain=<the site's name> belongs to the name, not to the address it resolved to:
    dropped, /dt/lelang refuses the token without its session and the check pages for nothing."""
    spse.cookie_attributes = "Path=/eproc4; Domain=lpse.test; HttpOnly"
    result = app(f"http://lpse.test:{spse.port}/eproc4")
    assert result.success, result.message
    assert f"SPSE_SESSION={spse.token[:8]}" in spse.dt_requests[-1]["headers"]["Cookie"]


@pytest.mark.parametrize("mode, reason, words", [
    ("no_token", "no_token", "sets no authenticity token"),
    ("dt_html", "bad_data", "answered HTML instead of DataTables JSON"),
    ("dt_error_page", "spse_error", f"SPSE error page, Kode Error: {SPSE_ERROR_CODE}"),
])
def test_application_failures_leave_the_front_page_fine(spse, mode, reason, words):
    spse.app = mode
    result = app(spse.url)
    assert result.reason == reason and words in result.message, result.message
    assert spse.token not in repr(result)
    assert front(spse.url).success


def test_stale_update_time_is_exported_as_written(spse):
    stale = datetime.now(WITA) - timedelta(days=3)
    spse.page = spse_front_page(spse_footer(updated=stale))
    result = front(spse.url, timezone="WITA")
    assert result.success and result.spse.data_updated_at == stale.replace(second=0, microsecond=0).timestamp()


# --- through the real exporter -----------------------------------------------------------------------

def test_real_exporter_healthy_dead_database_and_captive_portal(start_exporter):
    healthy, dead_db, captive, broken = FakeSPSE(), FakeSPSE(), FakeSPSE(), FakeSPSE()
    healthy.page = spse_front_page()  # "Update terakhir" now
    broken.page = SPSE_ERROR_PAGE  # the application's error page, status 200, on the front page
    dead_db.app = "dt_error_page"
    captive.page = echoing(page_file("portal-mikrotik-login.html"), captive.url)  # "/eproc4" in it, thrice
    captive.set("page")
    stale = datetime.now(WITA) - timedelta(days=2)
    dead_db.page = spse_front_page(spse_footer(updated=stale))
    spse = {"timezone": "WITA", "app_interval": "2s"}
    try:
        exporter = start_exporter({"interval": "1s", "timeout": "800ms", "targets": [
            {"name": "healthy", "url": healthy.url, "spse": spse},
            {"name": "deaddb", "url": dead_db.url, "spse": {**spse, "data_max_age": "1d"}},
            {"name": "captive", "url": captive.url, "spse": spse},
            {"name": "broken", "url": broken.url, "spse": {**spse, "app_check": False}}]})
        samples = poll(lambda: (s := exporter.scrape()).get_value("spse_app_probe_success", target="captive") is not None
                       and s.get_value("spse_app_probe_success", target="deaddb") is not None
                       and s.get_value("spse_app_probe_success", target="healthy") is not None and s,
                       20, 0.2, "every application check")
        status, body, _ = http_get(f"{exporter.url}/metrics")
        probes = json.loads(http_get(f"{exporter.url}/probes")[1])
    finally:
        for fake in (healthy, dead_db, captive, broken):
            fake.close()
    text = body.decode()
    print("\n".join(line for line in text.splitlines()
                    if line.startswith(("spse_info", "spse_data", "spse_site", "spse_app", "spse_http_probe_success",
                                        "spse_http_status_code"))
                    or line.startswith("spse_http_probe_failures_total") and not line.endswith(" 0")))
    print(json.dumps({key: probes[key] for key in sorted(probes) if key.startswith(("http/", "spse_app/"))}, indent=1))
    value = samples.get_value
    assert value("spse_http_probe_success", target="healthy") == 1
    assert value("spse_info", target="healthy", version=SPSE_VERSION) == 1
    assert value("spse_app_probe_success", target="healthy") == 1
    assert 0 <= time.time() - value("spse_data_last_update_timestamp_seconds", target="healthy") < 120
    assert value("spse_site_utc_offset_seconds", target="healthy") == 8 * 3600
    # The dead database: front page up, application check down with the error page's code.
    assert value("spse_http_probe_success", target="deaddb") == 1
    assert value("spse_app_probe_success", target="deaddb") == 0
    assert value("spse_app_probe_failures_total", target="deaddb", reason="spse_error") >= 1
    assert value("spse_data_last_update_timestamp_seconds", target="deaddb") == \
        stale.replace(second=0, microsecond=0).timestamp()
    assert value("spse_data_max_age_seconds", target="deaddb") == 86400
    # Its age in working time, counted by the exporter up to its last probe, whose time the same scrape carries
    # (a window ending at the test's own clock missed it on a loaded machine during working hours: the fakes'
    # closing alone takes up to 2 s).
    updated = value("spse_data_last_update_timestamp_seconds", target="deaddb")
    probed = value("spse_last_probe_timestamp_seconds", probe="http", name="deaddb")
    assert working_seconds(updated, probed - 1, WITA, NO_HOLIDAYS) <= \
        value("spse_data_age_working_seconds", target="deaddb") <= working_seconds(updated, probed + 1, WITA, NO_HOLIDAYS)
    probed = value("spse_last_probe_timestamp_seconds", probe="http", name="healthy")
    assert value("spse_site_working_time", target="healthy") in (is_working_time(probed - 1, WITA, NO_HOLIDAYS),
                                                                 is_working_time(probed + 1, WITA, NO_HOLIDAYS))
    assert SPSE_ERROR_CODE in probes["spse_app/deaddb"]["message"]
    # The captive portal: not SPSE, no version, no data time.
    assert value("spse_http_probe_success", target="captive") == 0
    assert value("spse_http_probe_failures_total", target="captive", reason="not_spse") >= 1
    assert not [key for key in samples if key[0] == "spse_info" and ("target", "captive") in key[1]]
    assert value("spse_data_last_update_timestamp_seconds", target="captive") is None
    assert probes["http/captive"]["spse"]["identity"] == "other"
    assert value("spse_app_probe_failures_total", target="captive", reason="no_token") >= 1
    # The token is a secret: not in /metrics, /probes or the log.
    for fake in (healthy, dead_db):
        assert fake.token not in text and fake.token not in json.dumps(probes) and fake.token not in exporter.logs()
    assert "probe spse_app/deaddb failing: " in exporter.logs() and SPSE_ERROR_CODE in exporter.logs()
    # SPSE's error page on the front page: its Kode Error in /probes and the log, never in a label.
    assert value("spse_http_probe_failures_total", target="broken", reason="spse_error") >= 1
    assert SPSE_ERROR_CODE in probes["http/broken"]["message"]
    assert probes["http/broken"]["spse"]["error_code"] == SPSE_ERROR_CODE and SPSE_ERROR_CODE not in text
    assert any(SPSE_ERROR_CODE in line for line in exporter.logs().splitlines() if "http/broken" in line)


# --- against Debian's nginx serving SPSE-like pages ------------------------------------------------------

@pytest.fixture
def nginx_sites(tmp_path):
    """nginx serving a healthy SPSE under /eproc4 (/eproc4 redirects to /eproc4/, as nginx does for a
    directory), the same site with a dead database (/dt/lelang answers SPSE's error page, status 200),
    and a captive portal answering every path with status 200."""
    token = "0123456789abcdef0123456789abcdef01234567"
    rows = json.dumps({"draw": 1, "recordsTotal": 77, "recordsFiltered": 77, "data": [["1", "Paket"]]})
    for site, dt in (("healthy", rows), ("deaddb", SPSE_ERROR_PAGE)):
        (tmp_path / site / "eproc4" / "dt").mkdir(parents=True)
        (tmp_path / site / "eproc4" / "index.html").write_text(spse_front_page())
        (tmp_path / site / "eproc4" / "lelang").write_text(spse_lelang_page(token))
        (tmp_path / site / "eproc4" / "dt" / "lelang").write_text(dt)
    (tmp_path / "captive").mkdir()
    (tmp_path / "captive" / "index.html").write_text(CAPTIVE_PORTAL_PAGE)
    ports = {name: free_port() for name in ("healthy", "deaddb", "captive")}
    json_dt = "location /eproc4/dt/ { default_type application/json; }"
    servers = "\n".join([
        f"server {{ listen 127.0.0.1:{ports['healthy']}; root {tmp_path}/healthy; default_type text/html; {json_dt} }}",
        f"server {{ listen 127.0.0.1:{ports['deaddb']}; root {tmp_path}/deaddb; default_type text/html; }}",
        f"server {{ listen 127.0.0.1:{ports['captive']}; root {tmp_path}/captive; default_type text/html; "
        "location / { try_files /index.html =404; } }"])
    server = Nginx(tmp_path / "nginx", servers, free_port())
    try:
        server.wait_ready()
        yield {name: f"http://127.0.0.1:{port}/eproc4" for name, port in ports.items()}, token
    finally:
        server.stop()


def test_nginx_serving_spse_pages(nginx_sites):
    urls, token = nginx_sites
    healthy = front(urls["healthy"])
    assert healthy.success and healthy.redirects == 1 and healthy.spse.version == SPSE_VERSION, healthy.message
    assert app(urls["healthy"]).message.endswith("recordsTotal 77")
    dead = app(urls["deaddb"])
    assert front(urls["deaddb"]).success
    assert (dead.reason, dead.status_code) == ("spse_error", 200) and SPSE_ERROR_CODE in dead.message
    assert token not in repr(dead)
    captive = front(urls["captive"])
    assert (captive.reason, captive.status_code) == ("not_spse", 200)
    assert app(urls["captive"]).reason == "no_token"


# nginx's own echo of what it was asked for, in every form a portal page shows it (see echoing()).
NGINX_ECHOES = {"@URL@": "$scheme://$http_host$request_uri", "@URL_ESC@": "$scheme%3A%2F%2F$http_host$request_uri",
                "@URL_HTML@": "$scheme://$http_host$request_uri", "@URL_JS@": "$scheme:\\/\\/$http_host$request_uri",
                "@URL_DECODED@": "$scheme://$http_host$request_uri", "@URL_B64@": "aHR0cDovL2xwc2U=",
                "@HOST@": "$http_host", "@PATH@": "$uri"}


def nginx_echo() -> str:
    """sub_filter directives that fill a portal page's placeholders with what nginx was asked for."""
    return "sub_filter_once off; " + " ".join(f"sub_filter '{placeholder}' '{value}';"
                                              for placeholder, value in NGINX_ECHOES.items())


@pytest.fixture
def nginx_pages(tmp_path, named_hosts):
    """Debian's nginx serving, under the site's own name, each real SPSE layout at /<layout>/eproc4 and each
    portal of the family for every path under /<portal>/ (a hijacked name), echoing the request itself; and a
    portal that redirects the site's name to its own login page, which echoes the original URL."""
    port = free_port()
    for name, *_ in SPSE_PAGES + [("spse-error.html",), ("spse-not-found.html",)]:
        (tmp_path / "site" / name.removesuffix(".html") / "eproc4").mkdir(parents=True)
        (tmp_path / "site" / name.removesuffix(".html") / "eproc4" / "index.html").write_text(page_file(name))
    (tmp_path / "site" / "spse-custom" / "eproc4").mkdir(parents=True)
    (tmp_path / "site" / "spse-custom" / "eproc4" / "index.html").write_text(customised_layout())
    (tmp_path / "portals").mkdir()
    for name in PORTALS:
        (tmp_path / "portals" / name).write_text(page_file(name))
    servers = f"""
    server {{
        listen 127.0.0.1:{port}; server_name lpse.kabcontoh.test; root {tmp_path}/site; default_type text/html;
        location ~ ^/(?<portal>portal-[a-z0-9-]+)/ {{ root {tmp_path}/portals; try_files /$portal.html =404;
                                                     {nginx_echo()} }}
        location /spse-custom/ {{ add_header Set-Cookie "SPSE_SESSION=5f0c2e-___AT=9a7b&___TS=1781067834590; Path=/"; }}
        location /redirected/ {{
            return 302 http://portal.wifi.test:{port}/login?dst=$scheme://$http_host$request_uri; }}
    }}
    server {{
        listen 127.0.0.1:{port}; server_name portal.wifi.test; root {tmp_path}/portals; default_type text/html;
        location = /login {{ try_files /portal-mikrotik-login.html =404; sub_filter_once off;
                            sub_filter '@URL@' '$arg_dst'; sub_filter '@HOST@' '$http_host'; }}
    }}"""
    server = Nginx(tmp_path / "nginx", servers, free_port())
    try:
        server.wait_ready()
        yield f"http://lpse.kabcontoh.test:{port}"
    finally:
        server.stop()


def test_nginx_serving_real_spse_layouts_and_echoing_portals(nginx_pages):
    """The probe's whole path (resolve, connect, redirects, body, page) against a real server: every SPSE layout
    passes with its version, SPSE's error pages fail as spse_error, and no portal reads as SPSE however it
    echoes the URL, on the site's own name or after redirecting to its login page."""
    site = nginx_pages
    for name, version, updated in SPSE_PAGES:
        result = front(f"{site}/{name.removesuffix('.html')}/eproc4", timezone="WITA")
        assert result.success and result.redirects == 1, (name, result.message)  # nginx: /eproc4 -> /eproc4/
        assert (result.spse.identity, result.spse.version) == ("spse", version), name
        assert result.spse.data_updated_at == (updated.timestamp() if updated else None), name
    for name in ("spse-error", "spse-not-found"):
        assert front(f"{site}/{name}/eproc4").reason == "spse_error", name
    custom = front(f"{site}/spse-custom/eproc4")  # known by one of SPSE's scripts and its session cookie
    assert custom.success and (custom.spse.identity, custom.spse.version) == ("spse", None), custom.message
    port = urlsplit(site).port
    for name in PORTALS:
        for url in (f"{site}/{name.removesuffix('.html')}/eproc4", f"{site}/{name.removesuffix('.html')}/"
                    + MARKED_URL.split("/", 3)[3]):
            result = front(url)
            assert (result.reason, result.status_code, result.spse.identity) == ("not_spse", 200, "other"), \
                (url, result.message)
            # The positive control: nginx did echo the request into the page, SPSE's markers and all.
            status, body, _ = http_get(f"http://127.0.0.1:{port}{urlsplit(url).path}?{urlsplit(url).query}",
                                       headers={"Host": f"lpse.kabcontoh.test:{port}"})
            assert status == 200 and b"lpse.kabcontoh.test" in body and b"/eproc4" in body, name
    marked = f"{site}/portal-echo-text/" + MARKED_URL.split("/", 3)[3]
    _, body, _ = http_get(f"http://127.0.0.1:{port}/portal-echo-text/" + MARKED_URL.split("/", 3)[3],
                          headers={"Host": f"lpse.kabcontoh.test:{port}"})
    assert analyse(body, WITA).identity == "spse" and analyse(body, WITA, [marked]).identity == "other"
    redirected = front(f"{site}/redirected/eproc4")
    assert (redirected.reason, redirected.redirects, redirected.spse.identity) == ("not_spse", 1, "other"), \
        redirected.message
    assert redirected.url.startswith(f"http://portal.wifi.test:{port}/login?dst=")
    assert app(f"{site}/redirected/eproc4").reason == "no_token"


def test_redirect_limit_is_per_request_of_the_application_check(spse):
    """/lelang and /dt/lelang each redirected once: within max_redirects 1, though two in all."""
    spse.base = "/app"
    config = {"interval": "5s", "targets": [{"name": "site", "url": f"http://127.0.0.1:{spse.port}/eproc4/",
                                             "timeout": "2s", "max_redirects": 1, "spse": True}]}
    target = parse_config(yaml.safe_dump(config)).targets[0]
    spse.redirect_prefix = ("/eproc4/", "/app/")
    result = asyncio.run(probe_spse_app(AppCheck(target)))
    assert result.success and result.redirects == 2, result.message


def test_application_down_fires_through_prometheus_only_while_the_front_page_answers(
        start_exporter, start_prometheus, tmp_path):
    """The shipped rules 30 times faster: a dead database behind a working front page pages
    SPSEApplicationDown with the cause annotation; a site that is down altogether does not (SPSEDown's), nor
    one whose /lelang sets no token (another layout: the check cannot tell)."""
    dead_db, down, no_token = FakeSPSE(), FakeSPSE(), FakeSPSE()
    dead_db.app = "dt_error_page"
    down.set("status", status=503)
    no_token.app = "no_token"
    spse = {"app_interval": "500ms"}
    try:
        exporter = start_exporter({"interval": "500ms", "timeout": "400ms", "targets": [
            {"name": "deaddb", "url": dead_db.url, "spse": spse}, {"name": "down", "url": down.url, "spse": spse},
            {"name": "notoken", "url": no_token.url, "spse": spse}]})
        prometheus = start_prometheus(render_prometheus_config(
            tmp_path, exporter=f"{exporter.host}:{exporter.port}", rules_dir=compress_rules(tmp_path / "rules", 30),
            scrape_interval="500ms", evaluation_interval="500ms"))
        firing = poll(lambda: [alert for alert in http_json(f"{prometheus.url}/api/v1/alerts")["data"]["alerts"]
                               if alert["labels"]["alertname"] == "SPSEApplicationDown"
                               and alert["state"] == "firing"], 60, 0.5, "SPSEApplicationDown to fire")
        assert [alert["labels"]["target"] for alert in firing] == ["deaddb"]
        annotations = firing[0]["annotations"]
        assert annotations["cause"] == "none" and "reason: SPSE error page (spse_error)" in annotations["description"]
        assert prometheus.query('ALERTS{alertname="SPSEDown", target="down"}')
        assert not prometheus.query('ALERTS{alertname="SPSEApplicationDown", target="down"}')
        # not even pending, though its checks failed as long as deaddb's
        assert prometheus.query('spse_app_probe_failures_total{target="notoken", reason="no_token"} > 2')
        assert not prometheus.query('ALERTS{alertname="SPSEApplicationDown", target="notoken"}')
    finally:
        for fake in (dead_db, down, no_token):
            fake.close()


def http_json(url: str) -> dict:
    status, body, _ = http_get(url)
    assert status == 200, status
    return json.loads(body)
