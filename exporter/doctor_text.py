"""The doctor's words in Bahasa Indonesia (default) and English: one table of phrases per language. Durations,
probe failure reasons, upstream group names and the --lang check come from the product's formatter
(exporter/formatting.py)."""

from __future__ import annotations

from exporter import formatting

PHRASES = {
    "id": {
        "title": "Pemeriksaan ketergantungan server SPSE ({config})",
        "fine": "baik", "at_risk": "berisiko",
        "time_sources": "Sumber waktu server SPSE{daemon}",
        "time_none": ("Layanan sinkronisasi waktu (chrony, ntpsec, atau systemd-timesyncd) tidak ditemukan di server "
                      "ini: {why}."),
        "time_unreadable": "Layanan sinkronisasi waktu {daemon} tidak dapat dibaca: {why}.",
        "time_few": "Hanya {n} sumber waktu yang terjangkau; diperlukan paling sedikit {min}.",
        "time_global_only": ("Semua sumber waktu yang terjangkau berada di jaringan internasional; tambahkan sumber "
                             "waktu nasional (lihat panduan penanganan, SPSETimeSourcesAtRisk)."),
        "time_unsynchronised": "Layanan waktu belum tersinkronisasi dengan sumber mana pun.",
        "reachable": "terjangkau", "unreachable": "tidak terjangkau",
        "no_sources": "tidak ada sumber waktu yang terdaftar",
        "resolvers": "Server DNS (resolver) yang dipakai server ini",
        "resolvers_via_resolved": "Server DNS (resolver) yang dipakai server ini melalui systemd-resolved",
        "resolvers_unreadable": "Daftar server DNS tidak dapat dibaca: {why}.",
        "file_missing": "berkas {path} tidak ada", "file_denied": "tidak ada izin membaca {path}",
        "file_unreadable": "berkas {path} tidak dapat dibaca",
        "resolvers_none": "Tidak ada server DNS yang terdaftar di {path}.",
        "resolvers_not_national": ("Tidak ada server DNS nasional yang merespons; tambahkan resolver penyedia layanan "
                                   "internet Anda atau catat jaringannya di host_time.national_networks."),
        "answers": "merespons", "timeout": "tidak merespons dalam {timeout}",
        "refused": "menolak atau gagal merespons", "unreachable_dns": "tidak dapat dihubungi",
        "upstream": "Jalur {group} (upstream {name})",
        "upstream_down": "Tidak ada satu pun pemeriksaan yang berhasil.",
        "answered": "berhasil",
        "spse": "SPSE {name} ({url})",
        "spse_down": "SPSE tidak dapat diakses dari server ini: {why}.",
        "receivers": "Penerima notifikasi (Alertmanager {url})",
        "receivers_unreadable": "Alertmanager tidak dapat dibaca: {why}.",
        "receivers_none": "Belum ada penerima notifikasi: alert tidak dikirim ke siapa pun.",
        "receiver_entry": "{receiver} melalui {integration} ke {host}",
        "watcher": "Watcher (remote write Prometheus {url})",
        "watcher_unreadable": "Konfigurasi Prometheus tidak dapat dibaca: {why}.",
        "watcher_none": ("Belum ada watcher: jika jaringan situs terputus seluruhnya, tidak ada pihak di luar yang "
                         "mengetahuinya."),
        "watcher_entry": "{name} ke {host}",
        # The time daemon's reasons, and an HTTP status said as EYD V writes it; other reasons: formatting.reason.
        "reason": {"not_installed": "programnya tidak terpasang", "not_running": "layanannya tidak berjalan",
                   "bad_output": "jawabannya tidak dapat dibaca", "http_status": "mengembalikan galat {status}"},
        "stop_time": "validasi waktu server SPSE (SPSE akan gagal seperti pada 4 April 2023)",
        "stop_dns": "penerjemahan nama domain di server ini",
        "stop_receivers": "notifikasi melalui {integrations}",
        "stop_watcher": "pengiriman data ke watcher",
        "loss_none": ("Jika konektivitas internasional terputus, tidak ada satu pun layanan yang diperiksa di sini yang "
                      "diketahui akan berhenti."),
        "loss": "Jika konektivitas internasional terputus, {stops}.",
        "will_stop": "yang akan berhenti adalah {what}",
        "may_stop": "yang mungkin berhenti (alamat tujuannya tidak tercatat sebagai jaringan nasional) adalah {what}",
        "http_connect": "tidak dapat dihubungi", "http_status": "mengembalikan galat {status}",
        "http_garbage": "jawabannya tidak dapat dibaca",
        "and": "dan",
        "verdict_fine": "Hasil: semua {n} pemeriksaan baik.",
        "verdict_at_risk": "Hasil: {bad} dari {n} pemeriksaan berisiko.",
        "bad_config": "Konfigurasi {path} tidak dapat dipakai: {why}",
    },
    "en": {
        "title": "SPSE host dependency check ({config})",
        "fine": "fine", "at_risk": "AT RISK",
        "time_sources": "Time sources of the SPSE host{daemon}",
        "time_none": "No time daemon (chrony, ntpsec or systemd-timesyncd) found on this host: {why}.",
        "time_unreadable": "Cannot read the time daemon {daemon}: {why}.",
        "time_few": "Only {n} time source(s) reachable; at least {min} are needed.",
        "time_global_only": ("Every reachable time source is in the global (international) group; add national "
                             "time sources (runbook, SPSETimeSourcesAtRisk)."),
        "time_unsynchronised": "The time daemon is not synchronised to any source.",
        "reachable": "reachable", "unreachable": "unreachable",
        "no_sources": "no time source listed",
        "resolvers": "DNS resolvers of this host",
        "resolvers_via_resolved": "DNS resolvers of this host, through systemd-resolved",
        "resolvers_unreadable": "Cannot read the resolver list: {why}.",
        "file_missing": "{path} does not exist", "file_denied": "no permission to read {path}",
        "file_unreadable": "{path} cannot be read",
        "resolvers_none": "No resolver listed in {path}.",
        "resolvers_not_national": ("No national resolver answers; add your ISP's resolvers or list their networks "
                                   "in host_time.national_networks."),
        "answers": "answers", "timeout": "no answer within {timeout}",
        "refused": "refuses or fails to resolve", "unreachable_dns": "cannot be reached",
        "upstream": "Upstream group {name}",
        "upstream_down": "No check succeeded.",
        "answered": "succeeded",
        "spse": "SPSE {name} ({url})",
        "spse_down": "SPSE cannot be reached from this host: {why}.",
        "receivers": "Notification receivers (Alertmanager {url})",
        "receivers_unreadable": "Cannot read Alertmanager: {why}.",
        "receivers_none": "No notification receiver: alerts are sent to nobody.",
        "receiver_entry": "{receiver} via {integration} to {host}",
        "watcher": "Watcher (Prometheus remote write {url})",
        "watcher_unreadable": "Cannot read Prometheus' config: {why}.",
        "watcher_none": "No watcher: if the site's link is lost entirely, nobody outside learns of it.",
        "watcher_entry": "{name} to {host}",
        "reason": {"not_installed": "not installed", "not_running": "not running",
                   "bad_output": "its answer cannot be read", "http_status": "returns error {status}"},
        "stop_time": "the SPSE server's time validation (SPSE fails as on 4 April 2023)",
        "stop_dns": "name resolution on this host",
        "stop_receivers": "notifications through {integrations}",
        "stop_watcher": "the data sent to the watcher",
        "loss_none": "If global connectivity were lost, nothing checked here is known to stop.",
        "loss": "If global connectivity were lost, {stops}.",
        "will_stop": "{what} would stop",
        "may_stop": "{what} may stop (their destinations are in no known national network)",
        "http_connect": "cannot be reached", "http_status": "returns error {status}",
        "http_garbage": "its answer cannot be read",
        "and": "and",
        "verdict_fine": "Result: all {n} checks fine.",
        "verdict_at_risk": "Result: {bad} of {n} checks at risk.",
        "bad_config": "Cannot use the config {path}: {why}",
    },
}
LANGUAGES = formatting.LANGUAGES


def reason(code: str, lang: str, status: int | None = None) -> str:
    """A failure reason in words: the doctor's own (the time daemon's, an HTTP status), else the formatter's."""
    own = PHRASES[lang]["reason"].get(code)
    if own is None or (code == "http_status" and status is None):
        return formatting.reason(code, lang)
    return own.format(status=status)


def join(items: list[str], lang: str) -> str:
    """"a dan b", "a, b, dan c" (EYD: a comma before "dan" in a list of three) / "a, b and c"."""
    if len(items) < 2:
        return "".join(items)
    comma = "," if lang == "id" and len(items) > 2 else ""
    return f"{', '.join(items[:-1])}{comma} {PHRASES[lang]['and']} {items[-1]}"
