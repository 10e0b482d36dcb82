"""How people read durations, times, dates, numbers and codes, in Bahasa Indonesia ("id") and English ("en").

One source for the report, the CLI, notify-test and the notifications: Alertmanager's templates cannot call
Python, so `alertmanager_template()` writes their word lists from the tables here (prometheus/templates/
spse-words.tmpl), and GO_DURATION, GO_REASON, GO_GROUP, GO_MERGED_CAUSE, GO_PROBE and GO_DECIMAL_ID are the pipelines rule
annotations put after a value (prometheus/mixin/alerts.yml, prometheus/watcher/rules/watcher.yml); tests render both with the real Alertmanager and Prometheus and
compare them with these functions.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

LANGUAGES = ("id", "en")
DAYS = {"id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
        "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
MONTHS = {"id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                 "Oktober", "November", "Desember"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December")}
# (singular, plural) per unit; Indonesian nouns take no plural ("5 menit").
UNITS = {"id": {"d": ("hari",) * 2, "h": ("jam",) * 2, "m": ("menit",) * 2, "s": ("detik",) * 2,
                "ms": ("milidetik",) * 2},
         "en": {"d": ("day", "days"), "h": ("hour", "hours"), "m": ("minute", "minutes"), "s": ("second", "seconds"),
                "ms": ("millisecond", "milliseconds")}}
CLOCK_SEPARATOR = {"id": ".", "en": ":"}  # EYD V writes 14.42 WITA

# The chain of links (gateway -> national/global -> time sources -> SPSE), each by name and as lost.
LINKS = {
    "id": {"gateway": "gateway (router lokal)", "national": "konektivitas nasional",
           "global": "konektivitas global (internasional)", "time_sources": "sumber waktu (NTP)", "spse": "SPSE"},
    "en": {"gateway": "gateway (local router)", "national": "national connectivity",
           "global": "global (international) connectivity", "time_sources": "time sources (NTP)", "spse": "SPSE"},
}
LOST = {
    "id": {"gateway": "gateway (router lokal) tidak dapat dihubungi",
           "national": "konektivitas nasional terputus",
           "global": "konektivitas global (internasional) terputus",
           "time_sources": "server SPSE tidak dapat memvalidasi waktunya dengan sumber waktu (NTP)"},
    "en": {"gateway": "the gateway (local router) became unreachable",
           "national": "national connectivity was lost",
           "global": "global (international) connectivity was lost",
           "time_sources": "the SPSE server could not validate its time against its time sources (NTP)"},
}
# The codes of the `cause` annotation and of spse:probable_cause's `cause` label, as links of the chain.
CAUSE_LINKS = {"gateway_lost": "gateway", "national_lost": "national", "global_lost": "global",
               "clock_unvalidated": "time_sources"}
NO_CAUSE = {"id": "tidak ditemukan gangguan jaringan atau sumber waktu: periksa server SPSE itu sendiri",
            "en": "no network or time source fault found: check the SPSE server itself"}
UNKNOWN = {"id": "tidak diketahui", "en": "unknown"}
# The watcher's own codes of watcher:site_cause's `cause` label (prometheus/watcher/rules/watcher.yml); its other
# values are the site's spse:probable_cause codes, worded by cause(). "none" there means SPSE answers from outside.
WATCHER_CAUSES = {
    "id": {"uplink_cut": "jalur internet situs terputus, atau seluruh situs mati",
           "site_silent": "situs tidak mengirim data ke watcher",
           "path": "jalur antara situs dan luar bermasalah (rute atau DNS)",
           "application": "aplikasi SPSE atau servernya bermasalah", "none": "normal"},
    "en": {"uplink_cut": "the site's uplink is cut, or the whole site is down",
           "site_silent": "the site sends nothing to the watcher",
           "path": "the path between the site and the outside is broken (routing or DNS)",
           "application": "the SPSE application or its server is failing", "none": "healthy"},
}
# Why a probe failed (the `reason` label of the *_failures_total counters, exporter/metrics.py).
REASONS = {
    "id": {"timeout": "waktu tunggu habis", "dns": "resolusi DNS gagal", "connect": "koneksi gagal",
           "tls": "TLS gagal", "http_status": "status HTTP tidak sesuai", "body_match": "halaman galat SPSE",
           "spse_error": "halaman galat SPSE", "not_spse": "halaman yang bukan SPSE",
           "protocol": "jawaban tidak sesuai protokol", "no_token": "token halaman tidak ditemukan",
           "bad_data": "data halaman tidak terbaca", "kod": "sumber waktu menolak melayani permintaan",
           "unsynchronized": "sumber waktu itu sendiri belum sinkron",
           "origin_mismatch": "jawaban NTP bukan untuk permintaan ini", "rcode": "server DNS mengembalikan galat",
           "no_answer": "server DNS tidak memberi alamat",
           "not_installed": "layanan sinkronisasi waktu tidak terpasang",
           "not_running": "layanan sinkronisasi waktu tidak berjalan",
           "bad_output": "keluaran layanan sinkronisasi waktu tidak terbaca", "unknown": "tidak diketahui"},
    "en": {"timeout": "timeout", "dns": "name not resolved", "connect": "connection failed", "tls": "TLS failed",
           "http_status": "unexpected HTTP status", "body_match": "SPSE error page", "spse_error": "SPSE error page",
           "not_spse": "a page that is not SPSE", "protocol": "invalid answer for the protocol",
           "no_token": "page token not found", "bad_data": "page data unreadable",
           "kod": "the time source refused service (kiss-o'-death)",
           "unsynchronized": "the time source itself is not synchronised",
           "origin_mismatch": "NTP reply not for this request", "rcode": "the DNS server returned an error",
           "no_answer": "the DNS server gave no address", "not_installed": "no time daemon installed",
           "not_running": "the time daemon is not running", "bad_output": "the time daemon's output unreadable",
           "unknown": "unknown"},
}
# Label values people see in notifications: severities and upstream groups.
SEVERITY_WORDS = {"id": {"critical": "kritis", "warning": "peringatan", "info": "informasi", "none": "tanpa tingkat"},
                  "en": {"critical": "critical", "warning": "warning", "info": "info", "none": "no severity"}}
GROUP_WORDS = {"id": {"gateway": "gateway", "national": "nasional", "global": "global (internasional)"},
               "en": {"gateway": "gateway", "national": "national", "global": "global (international)"}}
# The same groups where the name already stands in parentheses ("1.1.1.1 (internasional)"), and an address in none.
SHORT_GROUP_WORDS = {lang: {**words, "global": {"id": "internasional", "en": "international"}[lang],
                            "unknown": UNKNOWN[lang]} for lang, words in GROUP_WORDS.items()}
LABEL_WORDS = {lang: {**SEVERITY_WORDS[lang], **GROUP_WORDS[lang]} for lang in SEVERITY_WORDS}
# The `probe` label of the exporter's own metrics (each probe module's ProbeKind), for SPSEProbesStale.
PROBE_WORDS = {"id": {"http": "halaman SPSE", "spse_app": "aplikasi SPSE", "clock": "sumber waktu SPSE",
                      "upstream": "grup jaringan", "host_time": "layanan sinkronisasi waktu server"},
               "en": {"http": "the SPSE page", "spse_app": "the SPSE application", "clock": "SPSE's time sources",
                      "upstream": "the network group", "host_time": "the host's time service"}}

DECIMAL_COMMA = (r"([0-9])\.([0-9])", "$1,$2")  # Go's reReplaceAll arguments: 2.5 -> 2,5
# After `humanizeDuration` in a rule annotation ("9h 30m 0s", "5m 0s", "45s", "1.5s", "500ms"): the same words
# duration() writes. Each step is a Go template reReplaceAll; tests run it through promtool.
_GO_STEPS = {lang: [(r" 0[hms]", "")] + [
    (rf"([0-9.]+){code}\b" if code in ("ms", "s") else rf"([0-9]+){code}\b", f"$1 {units[1]}")
    for code in ("d", "h", "ms", "m", "s") for units in [UNITS[lang][code]]]
    + ([(r"\b1 (day|hour|minute|second|millisecond)s\b", "1 $1")] if lang == "en" else [])
    + ([DECIMAL_COMMA] if lang == "id" else [])
    for lang in LANGUAGES}
GO_DURATION = {lang: "humanizeDuration" + "".join(f" | reReplaceAll `{regex}` \"{replacement}\""
                                                  for regex, replacement in steps)
               for lang, steps in _GO_STEPS.items()}

# After a number in an Indonesian rule annotation ("45.5%", "2.5"): the decimal comma number() writes.
GO_DECIMAL_ID = 'reReplaceAll `{}` "{}"'.format(*DECIMAL_COMMA)


def go_lookup(table: dict[str, str]) -> str:
    """A Go template pipeline for rule annotations that turns a code (a label value) into its words, any other
    value unchanged."""
    return " | ".join(f'reReplaceAll "^{code}$" {_go_string(word)}' for code, word in table.items())


def language(value: str) -> str:
    """A --lang value as given, or ValueError naming the languages there are, in both of them."""
    if value not in LANGUAGES:
        raise ValueError(f"unknown language {value!r}: use id (Bahasa Indonesia) or en (English) / "
                         f"bahasa {value!r} tidak dikenal: pakai id (bahasa Indonesia) atau en (bahasa Inggris)")
    return value


def number(value: float, lang: str, decimals: int = 0) -> str:
    """1.234,5 in Bahasa Indonesia, 1,234.5 in English."""
    text = f"{value:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "id" else text


def _decimal(text: str, lang: str) -> str:
    return text.replace(".", ",") if lang == "id" else text


def duration(seconds: float, lang: str) -> str:
    """"9 jam 30 menit", "13 hari", "45 detik" / "9 hours 30 minutes": the non-zero units, whole seconds from
    a minute up (as Prometheus' humanizeDuration counts), 4 significant digits below."""
    if seconds < 0:
        return "-" + duration(-seconds, lang)
    units = UNITS[lang]

    def say(amount: str, code: str) -> str:
        singular, plural = units[code]
        return f"{_decimal(amount, lang)} {singular if amount == '1' else plural}"

    if seconds == 0:
        return say("0", "s")
    if seconds < 1:
        return say(f"{seconds * 1000:.4g}", "ms")
    if seconds < 60:
        return say(f"{seconds:.4g}", "s")
    whole = int(seconds)
    parts = zip((whole // 86400, whole % 86400 // 3600, whole % 3600 // 60, whole % 60), ("d", "h", "m", "s"))
    return " ".join(say(str(amount), code) for amount, code in parts if amount)


def local(timestamp: float, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc).astimezone(zone)


def clock_time(timestamp: float, zone: tzinfo, lang: str, zone_name: str | None = None) -> str:
    """"14.42 WITA" / "14:42 WITA"; `zone_name` defaults to the zone's own abbreviation."""
    moment = local(timestamp, zone)
    name = zone_name if zone_name is not None else moment.tzname() or ""
    return f"{moment:%H}{CLOCK_SEPARATOR[lang]}{moment:%M} {name}".rstrip()


def short_date(timestamp: float, zone: tzinfo, lang: str) -> str:
    """"3 April 2023"."""
    moment = local(timestamp, zone)
    return f"{moment.day} {MONTHS[lang][moment.month - 1]} {moment.year}"


def date(timestamp: float, zone: tzinfo, lang: str) -> str:
    """"Senin, 3 April 2023" / "Monday, 3 April 2023"."""
    return f"{DAYS[lang][local(timestamp, zone).weekday()]}, {short_date(timestamp, zone, lang)}"


def cause(code: str, lang: str) -> str:
    """The `cause` annotation ("global_lost clock_unvalidated"; "none") in words, root first, joined by →;
    unknown codes are left out, or shown with "unknown" when no code is known."""
    codes = code.split()
    if codes == ["none"]:
        return NO_CAUSE[lang]
    words = [LOST[lang][link] for known, link in CAUSE_LINKS.items() if known in codes]
    return " → ".join(words) or f"{UNKNOWN[lang]} ({code})"


def reason(code: str, lang: str) -> str:
    """A probe failure reason in words; an unknown code is shown as it is."""
    return REASONS[lang].get(code, code)


def merged_cause(code: str, lang: str) -> str:
    """watcher:site_cause's `cause` label in words; an unknown code is shown as it is."""
    return MERGED_CAUSE_WORDS[lang].get(code, code)


def group_word(code: str, lang: str) -> str:
    """An upstream group's short name ("internasional"), "tidak diketahui" for "unknown"; others as they are."""
    return SHORT_GROUP_WORDS[lang].get(code, code)


def label_word(value: str, lang: str) -> str:
    """A severity or group label value in words; other values as they are."""
    return LABEL_WORDS[lang].get(value, value)


def _go_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def alertmanager_template() -> str:
    """prometheus/templates/spse-words.tmpl: the word lists above as Alertmanager template definitions."""
    out = ["{{/* Generated by `python -m exporter.formatting` from exporter/formatting.py: do not edit. */}}", ""]
    for lang in LANGUAGES:
        out.append(f'{{{{ define "spse.cause.{lang}" -}}}}')
        out.append(f'{{{{ if eq . "none" }}}}{NO_CAUSE[lang]}{{{{ else -}}}}')
        out.append('{{ $words := "" }}' + "".join(
            f'{{{{ if match {_go_string(rf"(^| ){code}( |$)")} . }}}}{{{{ $words = print $words " → " '
            f'{_go_string(LOST[lang][link])} }}}}{{{{ end }}}}' for code, link in CAUSE_LINKS.items()))
        out.append(f'{{{{- with $words }}}}{{{{ reReplaceAll "^ → " "" . }}}}{{{{ else }}}}{UNKNOWN[lang]} ({{{{ . | html }}}})'
                   '{{ end }}')
        out.append("{{- end }}{{- end }}")
        out.append("")
    # A label value once when both languages write it alike ("gateway"), else "kritis / critical".
    words = {value: word if word == LABEL_WORDS["en"][value] else f"{word} / {LABEL_WORDS['en'][value]}"
             for value, word in LABEL_WORDS["id"].items()}
    out.append('{{ define "spse.label" }}{{ if false }}' + "".join(
        f'{{{{ else if eq . {_go_string(value)} }}}}{word}' for value, word in words.items())
        + "{{ else }}{{ . | html }}{{ end }}{{ end }}")
    out.append("")
    return "\n".join(out)


MERGED_CAUSE_WORDS = {lang: {**{code: cause(code, lang) for code in CAUSE_LINKS}, **WATCHER_CAUSES[lang],
                             "unknown": UNKNOWN[lang]} for lang in LANGUAGES}
GO_REASON = {lang: go_lookup(REASONS[lang]) for lang in LANGUAGES}
GO_MERGED_CAUSE = {lang: go_lookup(MERGED_CAUSE_WORDS[lang]) for lang in LANGUAGES}
GO_GROUP = {lang: go_lookup({code: word for code, word in GROUP_WORDS[lang].items() if word != code})
            for lang in LANGUAGES}
GO_PROBE = {lang: go_lookup(PROBE_WORDS[lang]) for lang in LANGUAGES}


if __name__ == "__main__":
    print(alertmanager_template(), end="")
