"""The one catalog of what the CLI and config loading tell an operator, one table per language, and the choice of
that language (--lang, else $SPSE_LANG, else Bahasa Indonesia).

An error carries a code and its parameters and is written out only when printed, in the language chosen then; the
parameters (key paths, values, file names) are the config's own words and stay as written. str() of an error is the
English text: logs are for engineers (README, "Language").
"""

from __future__ import annotations

import argparse
import os
import string
from typing import Any

from exporter import formatting
from exporter.doctor_text import join

DEFAULT_LANGUAGE = "id"
LANGUAGE_VARIABLE = "SPSE_LANG"

# What a value's Python type is called when an error says what it got instead ("got str").
TYPE_WORDS = {
    "id": {"nothing": "kosong", "str": "teks", "int": "bilangan bulat", "float": "bilangan pecahan",
           "bool": "true/false", "list": "daftar", "dict": "pemetaan (kunci: nilai)"},
    "en": {},
}

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # Config files: the exporter's, and the web config's.
        "file_not_regular": "cannot read: it is a FIFO, device or socket, not a regular file",
        "file_too_large": "cannot read: larger than {mib} MiB, the most a config file may be",
        "file_is_directory": "cannot read: {detail}",
        "file_is_directory_mount": "cannot read: {detail}; docker creates a directory where a file to mount is "
                                   "missing: remove it and copy your config to that path (SPSE_CONFIG_FILE)",
        "file_denied": "cannot read: {detail}; let the user the exporter runs as read it (chmod 644, or chown it to "
                       "that user)",
        "file_unreadable": "cannot read: {detail}",
        "file_not_found": "cannot read: {detail}",
        "yaml_duplicate_key": "duplicate key at line {line} (first at line {first_line}); remove one of them",
        "yaml_invalid_at": "line {line}, column {column}: invalid YAML: {detail}",
        "yaml_invalid": "invalid YAML: {detail}",
        "config_empty": "is empty",
        "not_mapping": "must be a mapping, got {type}",
        "key_not_string": "key {key!r} must be a non-empty string",
        "unknown_key": "unknown key (allowed: {allowed})",
        "required": "is required",
        "not_list": "must be a list, got {type}",
        "not_nonempty_string": "must be a non-empty string",
        "not_string": "must be a string, got {type}",
        "not_boolean": "must be true or false, got {type}",
        "not_choice": "must be one of {choices}, got {value!r}",
        "not_positive": "must be greater than zero",
        "integer_range": "must be a whole number from {low} to {high}, got {value!r}",
        "size_invalid": "must be a size such as 1048576, 512KiB or 1MiB",
        "regex_invalid": "invalid regular expression: {detail}",
        "headers_not_mapping": "must be a mapping of header name to value, got {type}",
        "header_name_invalid": "{name!r} is not a valid header name",
        "header_control_character": "contains the control character {character!r} (header values are single-line "
                                    "text; tab is the only one allowed)",
        "duration_not_string": "must be a duration string such as 15s or 1m",
        "duration_invalid": "{value!r} is not a duration (use forms like 500ms, 15s, 1m, 1h30m)",
        "duration_too_long": "{value!r} is longer than a year (366d at most)",
        "timeout_not_below_interval": "timeout ({timeout}) must be below interval ({interval})",
        "interval_not_above_timeout": "interval ({interval}) must be above the timeout set above it ({timeout}); "
                                      "set {key}",
        "ca_unloadable": "cannot load CA certificates: {detail}",
        "file_missing": "file {file!r} does not exist",
        "not_host_name": "must be a host name",
        "holidays_not_list": "must be a list of dates YYYY-MM-DD or ranges FIRST/LAST, got {type}",
        "holiday_not_string": "must be a date YYYY-MM-DD or a range FIRST/LAST, got {type}",
        "holiday_invalid": "{value!r} is not a date YYYY-MM-DD or a range FIRST/LAST such as 2026-12-24/2026-12-26",
        "holiday_reversed": "{value!r} ends before it starts",
        "spse_invalid": "must be true, false or a mapping of SPSE settings, got {type}",
        "zone_not_string": "must be WIB, WITA, WIT or an IANA zone name such as Asia/Makassar",
        "zone_unknown": "unknown time zone {value!r} (use WIB, WITA, WIT or an IANA name such as Asia/Makassar)",
        "app_interval_not_above_timeout": "must be above the target's timeout ({timeout})",
        "target_name_invalid": "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
        "target_name_taken": "{name!r} is already used by {other}",
        "target_scheme": "scheme must be http or https",
        "target_credentials": "has a user name or password, which probes never send and /probes, logs and metrics "
                              "would show: send them with headers: {{Authorization: ...}}",
        "check_credentials": "has a user name or password, which probes never send and /probes, logs and metrics "
                             "would show: remove them (an http(s) check counts a 401 as an answer)",
        "url_bad_port": "bad port: {detail}",
        "url_no_host": "has no host",
        "url_port_zero": "port 0 is not usable",
        "url_invalid": "{detail}",
        "redirect_scheme": "not http(s)",
        "endpoint_bad_port": "bad port in {value!r}: {detail}",
        "endpoint_invalid": "{value!r} is not host or host:port",
        "endpoint_needs_port": "{value!r} needs a port",
        "endpoint_port_zero": "port 0 in {value!r} is not usable",
        "time_source_invalid": "must be host[:port], got {type}",
        "spse_time_source_invalid": "must be host[:port] or {{host: ..., via: national|global}}, got {type}",
        "listed_twice": "{value!r} is listed twice",
        "clock_needs_server": "needs at least one time source: the ones the SPSE server itself uses",
        "needs_linux": "needs Linux (the kernel's adjtimex)",
        "needs_command": "needs the {command} command, e.g. [{command}]",
        "network_invalid": "must be a network such as 103.0.0.0/8: {detail}",
        "upstream_not_mapping": "must be a mapping of group name to a list of checks, got {type}",
        "group_name_invalid": "group name must be letters, digits, '_', '.' or '-'",
        "group_unknown": "unknown group {name!r}: the alert rules know gateway, national and global; name a group "
                         "of your own custom_<name>",
        "group_unknown_close": "unknown group {name!r}: did you mean {close!r}? the alert rules know gateway, "
                               "national and global; name a group of your own custom_<name>",
        "group_empty": "needs at least one check",
        "check_twice": "lists a check twice",
        "check_icmp": "icmp checks are not supported (they need raw-socket privileges); use tcp://host:port, "
                      "dns://, ntp:// or http(s)://",
        "check_scheme": "scheme must be one of {schemes}",
        "tcp_needs_port": "tcp checks need a port, e.g. tcp://host:443",
        "tcp_only_host_port": "tcp checks take only host:port",
        "ntp_only_host_port": "ntp checks take only host[:port]",
        "dns_needs_name": "dns checks need a name to query, e.g. dns://1.1.1.1/lkpp.go.id",
        "dns_name_invalid": "{name!r} is not a DNS name: {detail}",
        "dns_unknown_parameter": "unknown parameter {name!r} (only type=)",
        "dns_type": "type must be one of {types}",
        "nothing_to_probe": "configures nothing to probe: add targets, clock, upstream or host_time",
        "via_not_watched": "{group!r} is no upstream group of this config: add upstream.{group} (its loss explains "
                           "ClockUnvalidated) or remove via",
        "invalid_value": "{detail}",
        # The web config (--web.config.file).
        "web_client_auth_unverified": "{value} is not supported (a client certificate cannot be asked for without "
                                      "verifying it): use VerifyClientCertIfGiven or RequireAndVerifyClientCert with "
                                      "client_ca_file",
        "web_client_ca_without_auth": "is set but client_auth_type is NoClientCert: set client_auth_type to "
                                      "VerifyClientCertIfGiven or RequireAndVerifyClientCert",
        "web_client_ca_required": "is required with client_auth_type {value}",
        "web_cert_unloadable": "cannot load cert_file/key_file: {detail}",
        "web_users_not_mapping": "must be a mapping of user name to bcrypt hash",
        "web_user_not_bcrypt": "must map a user name to a bcrypt hash ($2a$, $2b$ or $2y$)",
        "web_hash_invalid": "is not a valid bcrypt hash",
        # The command line.
        "config_invalid": "invalid config: {error}",
        "config_invalid_fix": "Fix the error named above, then check again with --check-config.",
        "none_listed": "none",
        "config_summary": "{source}: OK: {targets} SPSE target(s), {servers} SPSE time source(s) + {references} "
                          "reference(s), {groups} upstream group(s) with {checks} check(s) ({group_checks}); "
                          "interval {interval}, timeout {timeout}",
        "no_config": "no --config.file given, so there is nothing to probe. Copy the example, set your SPSE URL, "
                     "your router (gateway), time sources and anchors, check it, and start with it:\n"
                     "  cp {example} spse.yml && $EDITOR spse.yml\n"
                     "  spse-exporter --config.file=spse.yml --check-config && spse-exporter --config.file=spse.yml",
        "missing_config": "--config.file {path} does not exist, so there is nothing to probe. Write yours from the "
                          "example ({example}), or in a container mount it at that path:\n"
                          "  docker run -v \"$PWD/config/spse.yml:{path}:ro\" --read-only spse-exporter",
        "listen_address_invalid": "--web.listen-address {value!r}: expected host:port, e.g. :10040 or "
                                  "127.0.0.1:10040",
        "listen_failed": "cannot listen on {address}: {detail}",
        # .env files (alertmanager-config, the native install).
        "env_missing": "{path} does not exist. Make it from the example: cp .env.example .env, then fill in the "
                       "receivers (TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, SMTP_* or WEBHOOK_URL)",
        "env_denied": "{path}: cannot read it ({detail}): run the command as the file's owner (root: sudo) or let "
                      "that user read it",
        "env_unreadable": "{path}: cannot read it ({detail})",
        "env_not_utf8": "{path}: cannot read it (not UTF-8 text): save it as UTF-8, as compose reads it",
        "env_line_invalid": "{path} line {line} ({name}): expected NAME=value, quotes closed, nothing after them but "
                            "a # comment",
        "env_braces_in_single_quotes": "{path} line {line} ({name}): docker-compose 1 and docker compose 2 read "
                                       "${{NAME}} inside single quotes differently: write the value in double quotes",
        "env_bare_variable": "{path} line {line} ({name}): docker-compose 1 and docker compose 2 read $NAME without "
                             "braces differently: write the value in single quotes",
        # Receiver settings (alertmanager-config).
        "secret_both_set": "{name} and {name}_FILE are both set: keep one",
        "secret_missing": "{name}_FILE: {path} does not exist: put the secret there as secrets/README.md shows, or "
                          "empty {name}_FILE",
        "secret_denied": "{name}_FILE: cannot read {path} ({detail}): give it to the user that renders the config "
                         "and readable by nobody else: sudo chown root:root {path} && sudo chmod 600 {path}",
        "secret_unreadable": "{name}_FILE: cannot read {path}: {detail}",
        "secret_empty": "{name}_FILE: {path} is empty: put the secret in it, or empty {name}_FILE",
        "secret_wrong_owner": "{name}_FILE: {path} holds a secret but belongs to {owner}, who can change it. Fix: "
                              "sudo chown root:root {path} && sudo chmod 600 {path}",
        "secret_too_open": "{name}_FILE: {path} holds a secret but has mode {mode}: other users can read or change "
                           "it. Fix: chmod 600 {path} (or 640 with the reading service's group)",
        "receiver_incomplete": "{receiver}: set {missing} too",
        "email_incomplete": "E-mail: set {missing} too",
        "receiver_sends": "{output}: {receiver} sends via {integrations}",
        "receiver_chat_id": "{name}: {value!r} is not a number (groups have negative ids, e.g. -1001234567890)",
        "receiver_template": "{template}: receivers {missing} are missing",
        "receiver_fix": "Fix the receiver setting named above in .env, then render alertmanager-config and restart "
                        "alertmanager (without Docker: run sudo bash scripts/install-native.sh again).",
        "receivers_none": "no notification receiver configured: alerts show in Grafana and Alertmanager but are sent "
                          "to nobody. Set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID (or SMTP_*, WEBHOOK_URL) in .env, "
                          "then run `docker compose up -d --force-recreate alertmanager-config alertmanager`.",
        "receivers_watchdog_only": "WATCHDOG_URL only feeds the dead man's switch, which pages nobody about SPSE.",
        "output_unwritable": "cannot write {path}: {detail}",
        "warning": "WARNING",
        # notify-test.
        "notify_delivered": "DELIVERED",
        "notify_not_delivered": "NOT DELIVERED",
        "notify_delivered_by": "{integration}: delivered",
        "notify_not_delivered_by": "{integration}: not delivered: {attempt}",
        "notify_not_delivered_by_connect": "{integration}: not delivered: {attempt}; {connect}",
        "notify_attempt_failed": "the attempt failed",
        "notify_attempt_unanswered": "the attempt started and got no answer within {duration}",
        "notify_no_attempt": "no attempt within {duration}",
        "notify_connect_failed": "{address} from this host: {detail}",
        "notify_connect_hanging": "{address} accepts connections from this host but does not answer: a proxy or "
                                  "firewall on the way holds the request",
        "notify_connect_answered": "{address} accepts connections from this host: check the token, chat id or "
                                   "credentials in Alertmanager's log, `docker compose logs alertmanager` or "
                                   "`journalctl -u prometheus-alertmanager` (\"Notify for alerts failed\")",
        "notify_test_receiver_empty": "receiver {test} has none of {receiver}'s integrations ({integrations}): copy "
                                      "them to it with send_resolved: false, or write the file with spse-exporter "
                                      "alertmanager-config",
        "notify_no_receiver": "receiver {receiver} has no integration: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID "
                              "(or SMTP_*, WEBHOOK_URL) in .env, then recreate them with `docker compose up -d "
                              "--force-recreate alertmanager-config alertmanager`, or without Docker run "
                              "`sudo bash scripts/install-native.sh` again",
        "notify_alertmanager_unusable": "cannot use Alertmanager at {url}: {detail} (is it Alertmanager's address, "
                                        "and is it running? `docker compose ps alertmanager` or "
                                        "`systemctl status prometheus-alertmanager`)",
        # The report.
        "report_min_failed_probes": "--min-failed-probes must be at least 1",
        "report_password_unreadable": "--prometheus.password-file: cannot read it: {detail}",
        "report_ca_unreadable": "--prometheus.ca-file: cannot load it: {detail}",
        "report_unwritable": "cannot write the report: {detail}",
        "report_time_invalid": "time {value!r}: use RFC 3339 (2023-04-04T08:00:00+08:00) or 'YYYY-MM-DD HH:MM'",
        "report_empty_window": "empty window: --from must be before --to",
        "report_unknown_site": "unknown site {site!r}: Prometheus has data for these sites: {known}",
        "report_no_sites": "unknown site {site!r}: Prometheus has data for no site yet",
        "report_no_such_target": "site {site!r} has no target {target!r} (targets: {targets})",
        "report_several_targets": "site {site!r} has several targets ({targets}): choose one with --target",
        "report_prometheus_unreachable": "Prometheus at {url} is unreachable: {detail}",
        "report_prometheus_refused": "Prometheus at {url} refused the credentials (HTTP {status})",
        "report_not_prometheus": "{url}: HTTP {status}, not a Prometheus API answer",
        "report_query_refused": "{url}: Prometheus refused the query: {detail}",
        "letterhead_unreadable": "{path}: cannot read it ({detail})",
        "letterhead_yaml": "{path}: not valid YAML ({detail})",
        "letterhead_top": "{path}: expected keys such as instansi and alamat",
        "letterhead_at": "{path}: {key}: {problem}",
        "letterhead_person": "expected jabatan, nama and nip under it",
        "letterhead_nip": "a NIP has 18 digits, e.g. 19800101 200501 1 001",
        "letterhead_logo_unreadable": "cannot read {file} ({detail})",
        "letterhead_logo_invalid": "{file} is not a PNG or JPEG image under 2 MiB",
    },
    "id": {
        "file_not_regular": "tidak dapat dibaca: ini FIFO, perangkat, atau soket, bukan berkas biasa",
        "file_too_large": "tidak dapat dibaca: lebih besar dari {mib} MiB, batas ukuran berkas konfigurasi",
        "file_is_directory": "tidak dapat dibaca: {detail}",
        "file_is_directory_mount": "tidak dapat dibaca: {detail}; Docker membuat direktori jika berkas yang akan "
                                   "dipasang (mount) tidak ada: hapus direktori itu dan salin konfigurasi Anda ke "
                                   "path tersebut (SPSE_CONFIG_FILE)",
        "file_denied": "tidak dapat dibaca: {detail}; izinkan pengguna yang menjalankan exporter membacanya "
                       "(chmod 644, atau chown ke pengguna itu)",
        "file_unreadable": "tidak dapat dibaca: {detail}",
        "file_not_found": "berkas tidak ada: {detail}",
        "yaml_duplicate_key": "kunci ganda di baris {line} (pertama di baris {first_line}); hapus salah satunya",
        "yaml_invalid_at": "baris {line}, kolom {column}: YAML tidak valid: {detail}",
        "yaml_invalid": "YAML tidak valid: {detail}",
        "config_empty": "kosong",
        "not_mapping": "harus berupa pemetaan (kunci: nilai), bukan {type}",
        "key_not_string": "kunci {key!r} harus berupa teks yang tidak kosong",
        "unknown_key": "kunci tidak dikenal (yang diizinkan: {allowed})",
        "required": "wajib diisi",
        "not_list": "harus berupa daftar, bukan {type}",
        "not_nonempty_string": "harus berupa teks yang tidak kosong",
        "not_string": "harus berupa teks, bukan {type}",
        "not_boolean": "harus true atau false, bukan {type}",
        "not_choice": "harus salah satu dari {choices}, bukan {value!r}",
        "not_positive": "harus lebih besar dari nol",
        "integer_range": "harus bilangan bulat dari {low} sampai dengan {high}, bukan {value!r}",
        "size_invalid": "harus berupa ukuran seperti 1048576, 512KiB, atau 1MiB",
        "regex_invalid": "ekspresi reguler tidak valid: {detail}",
        "headers_not_mapping": "harus berupa pemetaan nama header ke nilainya, bukan {type}",
        "header_name_invalid": "{name!r} bukan nama header yang valid",
        "header_control_character": "memuat karakter kendali {character!r} (nilai header harus satu baris; "
                                    "hanya tab yang diizinkan)",
        "duration_not_string": "harus berupa durasi seperti 15s atau 1m",
        "duration_invalid": "{value!r} bukan durasi (tulis seperti 500ms, 15s, 1m, 1h30m)",
        "duration_too_long": "{value!r} lebih lama dari setahun (paling lama 366d)",
        "timeout_not_below_interval": "timeout ({timeout}) harus lebih singkat dari interval ({interval})",
        "interval_not_above_timeout": "interval ({interval}) harus lebih lama dari timeout yang ditetapkan di "
                                      "atasnya ({timeout}); isi {key}",
        "ca_unloadable": "sertifikat CA tidak dapat dimuat: {detail}",
        "file_missing": "berkas {file!r} tidak ada",
        "not_host_name": "harus berupa nama host",
        "holidays_not_list": "harus berupa daftar tanggal YYYY-MM-DD atau rentang AWAL/AKHIR, bukan {type}",
        "holiday_not_string": "harus berupa tanggal YYYY-MM-DD atau rentang AWAL/AKHIR, bukan {type}",
        "holiday_invalid": "{value!r} bukan tanggal YYYY-MM-DD atau rentang AWAL/AKHIR seperti "
                           "2026-12-24/2026-12-26",
        "holiday_reversed": "{value!r} berakhir sebelum dimulai",
        "spse_invalid": "harus true, false, atau pemetaan pengaturan SPSE, bukan {type}",
        "zone_not_string": "harus WIB, WITA, WIT, atau nama zona IANA seperti Asia/Makassar",
        "zone_unknown": "zona waktu {value!r} tidak dikenal (pakai WIB, WITA, WIT, atau nama IANA seperti "
                        "Asia/Makassar)",
        "app_interval_not_above_timeout": "harus lebih lama dari timeout target ({timeout})",
        "target_name_invalid": "harus 1-63 huruf, angka, '_', '.', atau '-', diawali huruf atau angka",
        "target_name_taken": "{name!r} sudah dipakai oleh {other}",
        "target_scheme": "skema harus http atau https",
        "target_credentials": "memuat nama pengguna atau kata sandi, yang tidak pernah dikirim pemeriksaan tetapi "
                              "akan tampil di /probes, log, dan metrik: kirim lewat headers: {{Authorization: ...}}",
        "check_credentials": "memuat nama pengguna atau kata sandi, yang tidak pernah dikirim pemeriksaan tetapi "
                             "akan tampil di /probes, log, dan metrik: hapus keduanya (pemeriksaan http(s) menganggap "
                             "galat 401 sebagai tanggapan)",
        "url_bad_port": "port salah: {detail}",
        "url_no_host": "tidak memuat host",
        "url_port_zero": "port 0 tidak dapat dipakai",
        "url_invalid": "URL tidak dapat dikirim: {detail}",
        "redirect_scheme": "bukan http(s)",
        "endpoint_bad_port": "port salah dalam {value!r}: {detail}",
        "endpoint_invalid": "{value!r} bukan host atau host:port",
        "endpoint_needs_port": "{value!r} harus menyebut port",
        "endpoint_port_zero": "port 0 dalam {value!r} tidak dapat dipakai",
        "time_source_invalid": "harus host[:port], bukan {type}",
        "spse_time_source_invalid": "harus host[:port] atau {{host: ..., via: national|global}}, bukan {type}",
        "listed_twice": "{value!r} tercantum dua kali",
        "clock_needs_server": "memerlukan paling sedikit satu sumber waktu: sumber waktu yang dipakai server SPSE "
                              "sendiri",
        "needs_linux": "hanya berjalan di Linux (adjtimex milik kernel)",
        "needs_command": "memerlukan perintah {command}, misalnya [{command}]",
        "network_invalid": "harus berupa jaringan seperti 103.0.0.0/8: {detail}",
        "upstream_not_mapping": "harus berupa pemetaan nama grup ke daftar pemeriksaan, bukan {type}",
        "group_name_invalid": "nama grup harus terdiri atas huruf, angka, '_', '.', atau '-'",
        "group_unknown": "grup {name!r} tidak dikenal: aturan alert mengenal gateway, national, dan global; beri "
                         "nama custom_<nama> untuk grup Anda sendiri",
        "group_unknown_close": "grup {name!r} tidak dikenal: apakah maksud Anda {close!r}? Aturan alert mengenal "
                               "gateway, national, dan global; beri nama custom_<nama> untuk grup Anda sendiri",
        "group_empty": "memerlukan paling sedikit satu pemeriksaan",
        "check_twice": "mencantumkan satu pemeriksaan dua kali",
        "check_icmp": "pemeriksaan icmp tidak didukung (memerlukan hak raw socket); pakai tcp://host:port, dns://, "
                      "ntp://, atau http(s)://",
        "check_scheme": "skema harus salah satu dari {schemes}",
        "tcp_needs_port": "pemeriksaan tcp harus menyebut port, misalnya tcp://host:443",
        "tcp_only_host_port": "pemeriksaan tcp hanya memuat host:port",
        "ntp_only_host_port": "pemeriksaan ntp hanya memuat host[:port]",
        "dns_needs_name": "pemeriksaan dns harus menyebut nama yang ditanyakan, misalnya dns://1.1.1.1/lkpp.go.id",
        "dns_name_invalid": "{name!r} bukan nama DNS: {detail}",
        "dns_unknown_parameter": "parameter {name!r} tidak dikenal (hanya type=)",
        "dns_type": "type harus salah satu dari {types}",
        "nothing_to_probe": "tidak menetapkan apa pun untuk diperiksa: isi targets, clock, upstream, atau host_time",
        "via_not_watched": "{group!r} bukan grup jaringan dalam konfigurasi ini: tambahkan upstream.{group} "
                           "(terputusnya menjelaskan ClockUnvalidated) atau hapus via",
        "invalid_value": "nilai tidak valid: {detail}",
        "web_client_auth_unverified": "{value} tidak didukung (sertifikat klien tidak dapat diminta tanpa "
                                      "diverifikasi): pakai VerifyClientCertIfGiven atau RequireAndVerifyClientCert "
                                      "dengan client_ca_file",
        "web_client_ca_without_auth": "diisi, tetapi client_auth_type bernilai NoClientCert: ubah client_auth_type "
                                      "menjadi VerifyClientCertIfGiven atau RequireAndVerifyClientCert",
        "web_client_ca_required": "wajib diisi jika client_auth_type bernilai {value}",
        "web_cert_unloadable": "cert_file/key_file tidak dapat dimuat: {detail}",
        "web_users_not_mapping": "harus berupa pemetaan nama pengguna ke hash bcrypt",
        "web_user_not_bcrypt": "harus memetakan nama pengguna ke hash bcrypt ($2a$, $2b$, atau $2y$)",
        "web_hash_invalid": "bukan hash bcrypt yang valid",
        "config_invalid": "konfigurasi tidak valid: {error}",
        "config_invalid_fix": "Perbaiki kesalahan yang disebut di atas, lalu periksa lagi dengan --check-config.",
        "none_listed": "tidak ada",
        "config_summary": "{source}: valid: {targets} target SPSE, {servers} sumber waktu SPSE dan {references} "
                          "sumber waktu pembanding, {groups} grup jaringan dengan {checks} pemeriksaan "
                          "({group_checks}); interval {interval}, batas waktu {timeout}",
        "no_config": "--config.file belum diberikan, sehingga tidak ada yang dapat diperiksa. Salin contohnya, isi URL SPSE, router "
                     "(gateway), sumber waktu, dan penanda Anda, periksa, lalu jalankan dengan berkas itu:\n"
                     "  cp {example} spse.yml && $EDITOR spse.yml\n"
                     "  spse-exporter --config.file=spse.yml --check-config && spse-exporter --config.file=spse.yml",
        "missing_config": "--config.file {path} tidak ditemukan, sehingga tidak ada yang dapat diperiksa. Tulis "
                          "konfigurasi Anda dari contoh ({example}), atau di container pasang (mount) berkas Anda "
                          "pada path tersebut:\n"
                          "  docker run -v \"$PWD/config/spse.yml:{path}:ro\" --read-only spse-exporter",
        "listen_address_invalid": "--web.listen-address {value!r}: tulis host:port, misalnya :10040 atau "
                                  "127.0.0.1:10040",
        "listen_failed": "tidak dapat menerima sambungan di {address}: {detail}",
        "env_missing": "{path} tidak ada. Buat dari contoh: cp .env.example .env, lalu isi penerima notifikasi "
                       "(TELEGRAM_BOT_TOKEN dan TELEGRAM_CHAT_ID, SMTP_*, atau WEBHOOK_URL)",
        "env_denied": "{path}: berkas tidak dapat dibaca ({detail}): jalankan perintah sebagai pemilik berkas "
                      "(root: sudo) atau izinkan pengguna itu membacanya",
        "env_unreadable": "{path}: berkas tidak dapat dibaca ({detail})",
        "env_not_utf8": "{path}: berkas tidak dapat dibaca (bukan teks UTF-8): simpan sebagai UTF-8, seperti yang "
                        "dibaca compose",
        "env_line_invalid": "{path} baris {line} ({name}): tulis dalam bentuk NAMA=nilai, tutup setiap tanda kutip, "
                            "dan sesudahnya hanya boleh ada komentar #",
        "env_braces_in_single_quotes": "{path} baris {line} ({name}): docker-compose 1 dan docker compose 2 membaca "
                                       "${{NAMA}} di dalam tanda kutip tunggal dengan cara yang berbeda: tulis "
                                       "nilainya di dalam tanda kutip ganda",
        "env_bare_variable": "{path} baris {line} ({name}): docker-compose 1 dan docker compose 2 membaca $NAMA tanpa "
                             "kurung kurawal dengan cara yang berbeda: tulis nilainya di dalam tanda kutip tunggal",
        "secret_both_set": "{name} dan {name}_FILE sama-sama diisi: kosongkan salah satunya",
        "secret_missing": "{name}_FILE: {path} tidak ada: simpan rahasianya di sana seperti contoh di "
                          "secrets/README.md, atau kosongkan {name}_FILE",
        "secret_denied": "{name}_FILE: {path} tidak dapat dibaca ({detail}): berikan berkas itu kepada pengguna yang "
                         "membuat konfigurasi dan jangan biarkan pengguna lain membacanya: sudo chown root:root "
                         "{path} && sudo chmod 600 {path}",
        "secret_unreadable": "{name}_FILE: {path} tidak dapat dibaca: {detail}",
        "secret_empty": "{name}_FILE: {path} kosong: simpan rahasianya di sana, atau kosongkan {name}_FILE",
        "secret_wrong_owner": "{name}_FILE: {path} berisi rahasia tetapi milik {owner}, yang dapat mengubahnya. "
                              "Perbaiki: sudo chown root:root {path} && sudo chmod 600 {path}",
        "secret_too_open": "{name}_FILE: {path} berisi rahasia tetapi bermode {mode}: pengguna lain dapat membaca "
                           "atau mengubahnya. Perbaiki: chmod 600 {path} (atau 640 dengan grup layanan yang "
                           "membacanya)",
        "receiver_incomplete": "{receiver}: isi juga {missing}",
        "email_incomplete": "Surel: isi juga {missing}",
        "receiver_sends": "{output}: {receiver} mengirim lewat {integrations}",
        "receiver_chat_id": "{name}: {value!r} bukan angka (ID grup bernilai negatif, misalnya -1001234567890)",
        "receiver_template": "{template}: penerima {missing} tidak ada",
        "receiver_fix": "Perbaiki pengaturan penerima yang disebut di atas di .env, lalu buat ulang "
                        "alertmanager-config dan jalankan ulang alertmanager (tanpa Docker: jalankan lagi "
                        "sudo bash scripts/install-native.sh).",
        "receivers_none": "belum ada penerima notifikasi: alert tampil di Grafana dan Alertmanager tetapi tidak "
                          "dikirim ke siapa pun. Isi TELEGRAM_BOT_TOKEN dan TELEGRAM_CHAT_ID (atau SMTP_*, "
                          "WEBHOOK_URL) di .env, lalu jalankan "
                          "`docker compose up -d --force-recreate alertmanager-config alertmanager`.",
        "receivers_watchdog_only": "WATCHDOG_URL hanya untuk layanan pemantau sinyal hidup, yang tidak memberi tahu "
                                   "siapa pun tentang SPSE.",
        "output_unwritable": "{path} tidak dapat ditulis: {detail}",
        "warning": "PERINGATAN",
        "notify_delivered": "TERKIRIM",
        "notify_not_delivered": "TIDAK TERKIRIM",
        "notify_delivered_by": "{integration}: terkirim",
        "notify_not_delivered_by": "{integration}: tidak terkirim: {attempt}",
        "notify_not_delivered_by_connect": "{integration}: tidak terkirim: {attempt}; {connect}",
        "notify_attempt_failed": "percobaan pengiriman gagal",
        "notify_attempt_unanswered": "pengiriman sudah dimulai tetapi tidak mendapat tanggapan dalam {duration}",
        "notify_no_attempt": "belum ada percobaan pengiriman dalam {duration}",
        "notify_connect_failed": "{address} dari host ini: {detail}",
        "notify_connect_hanging": "{address} menerima sambungan dari host ini tetapi tidak memberi tanggapan: proxy "
                                  "atau firewall di tengah jalan menahan permintaan",
        "notify_connect_answered": "{address} menerima sambungan dari host ini: periksa token, ID obrolan, atau "
                                   "kredensial di log Alertmanager, `docker compose logs alertmanager` atau "
                                   "`journalctl -u prometheus-alertmanager` (\"Notify for alerts failed\")",
        "notify_test_receiver_empty": "penerima {test} belum punya integrasi {receiver} ({integrations}): salin ke "
                                      "sana dengan send_resolved: false, atau tulis berkasnya dengan spse-exporter "
                                      "alertmanager-config",
        "notify_no_receiver": "penerima {receiver} belum punya integrasi: isi TELEGRAM_BOT_TOKEN dan "
                              "TELEGRAM_CHAT_ID (atau SMTP_*, WEBHOOK_URL) di .env, lalu buat ulang dengan "
                              "`docker compose up -d --force-recreate alertmanager-config alertmanager`, atau tanpa "
                              "Docker jalankan lagi `sudo bash scripts/install-native.sh`",
        "notify_alertmanager_unusable": "Alertmanager di {url} tidak dapat dipakai: {detail} (benarkah itu alamat "
                                        "Alertmanager, dan apakah Alertmanager berjalan? "
                                        "`docker compose ps alertmanager` atau "
                                        "`systemctl status prometheus-alertmanager`)",
        "report_min_failed_probes": "--min-failed-probes paling sedikit 1",
        "report_password_unreadable": "--prometheus.password-file: berkas kata sandi tidak dapat dibaca: {detail}",
        "report_ca_unreadable": "--prometheus.ca-file: berkas CA tidak dapat dimuat: {detail}",
        "report_unwritable": "laporan tidak dapat ditulis: {detail}",
        "report_time_invalid": "waktu {value!r} tidak terbaca: tulis 'YYYY-MM-DD HH:MM' atau RFC 3339 "
                               "(2023-04-04T08:00:00+08:00)",
        "report_empty_window": "rentang kosong: --from harus sebelum --to",
        "report_unknown_site": "situs {site!r} tidak dikenal; Prometheus punya data situs: {known}",
        "report_no_sites": "situs {site!r} tidak dikenal; Prometheus belum punya data situs mana pun",
        "report_no_such_target": "situs {site!r} tidak punya target {target!r} (target yang ada: {targets})",
        "report_several_targets": "situs {site!r} punya beberapa target ({targets}): pilih satu dengan --target",
        "report_prometheus_unreachable": "Prometheus di {url} tidak dapat dihubungi: {detail}",
        "report_prometheus_refused": "Prometheus di {url} menolak nama pengguna atau kata sandinya (HTTP {status})",
        "report_not_prometheus": "{url}: HTTP {status}, bukan tanggapan API Prometheus",
        "report_query_refused": "{url}: Prometheus menolak kueri ini: {detail}",
        "letterhead_unreadable": "{path}: berkas tidak dapat dibaca ({detail})",
        "letterhead_yaml": "{path}: bukan YAML yang valid ({detail})",
        "letterhead_top": "{path}: seharusnya berisi kunci seperti instansi dan alamat",
        "letterhead_at": "{path}: {key}: {problem}",
        "letterhead_person": "seharusnya berisi jabatan, nama, dan nip",
        "letterhead_nip": "NIP terdiri atas 18 angka, misalnya 19800101 200501 1 001",
        "letterhead_logo_unreadable": "berkas {file} tidak dapat dibaca ({detail})",
        "letterhead_logo_invalid": "{file} bukan gambar PNG atau JPEG di bawah 2 MiB",
    },
}


def fields(template: str) -> set[str]:
    """The parameters a template names ({path}, {value!r}): both languages of a code must name the same ones."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(code: str, lang: str, params: dict[str, Any] | None = None) -> str:
    """The message `code` in `lang` with its parameters as written; a parameter named `type` (a value's Python type)
    becomes that language's word for it, `duration` (seconds) its words ("5 menit"), a list is joined as that
    language lists ("a, b, dan c" / "a, b and c"), and a Problem (a part of the sentence) is rendered in the same
    language."""
    params = {key: join([str(item) for item in value], lang) if isinstance(value, list) else
              value.render(lang) if isinstance(value, Problem) else value
              for key, value in (params or {}).items()}
    if "type" in params:
        params["type"] = TYPE_WORDS[lang].get(params["type"], params["type"])
    if "duration" in params:  # seconds
        params["duration"] = formatting.duration(params["duration"], lang)
    return MESSAGES[lang][code].format(**params)


class Problem(ValueError):
    """A value that is wrong, as a code and its parameters: the caller adds where it was found. str() is English."""

    def __init__(self, code: str, **params: Any):
        if code not in MESSAGES["en"]:
            raise KeyError(f"no message {code!r} in exporter/messages.py")
        super().__init__(code)
        self.code, self.params = code, params

    def render(self, lang: str) -> str:
        return render(self.code, lang, self.params)

    def __str__(self) -> str:
        return self.render("en")


def language_argument(parser: argparse.ArgumentParser) -> None:
    """--lang on a command: id or en; resolved with resolve_language after parsing."""
    parser.add_argument("--lang", default=None, metavar="id|en",
                        help=f"the language of what the command prints: id (Bahasa Indonesia, the default) or en "
                             f"(English); default ${LANGUAGE_VARIABLE}, else id")


def resolve_language(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """args.lang set to --lang, else $SPSE_LANG, else id; an unknown one ends the command with a message in both
    languages naming the two there are, and where the bad value came from."""
    try:
        if args.lang is not None:
            args.lang = formatting.language(args.lang)
        else:
            value = os.environ.get(LANGUAGE_VARIABLE, "").strip() or DEFAULT_LANGUAGE
            try:
                args.lang = formatting.language(value)
            except ValueError as err:
                raise ValueError(f"{LANGUAGE_VARIABLE}={value!r}: {err}") from None
    except ValueError as err:
        parser.error(str(err))
    return args.lang
