"""The report's words in Bahasa Indonesia (default) and English: one table of phrases per language."""

from __future__ import annotations

from http import HTTPStatus

PHRASES = {
    "id": {
        "title": "BERITA ACARA GANGGUAN LAYANAN SPSE",
        "number": "Nomor: [NOMOR BERITA ACARA]",
        "opening": ("Pada hari ini [HARI, TANGGAL], kami yang bertanda tangan di bawah ini menerangkan keadaan "
                    "layanan SPSE {site} pada periode {start} s.d. {end} menurut data pemantauan (spse-exporter "
                    "dan Prometheus) sebagai berikut."),
        "rule": ("Ketentuan penghitungan: gangguan dimulai pada pemeriksaan gagal pertama dan berakhir pada "
                 "pemeriksaan berhasil pertama sesudahnya; kegagalan yang berselang kurang dari {gap} dihitung "
                 "sebagai satu gangguan; kurang dari {min} pemeriksaan gagal tidak dihitung sebagai gangguan. "
                 "Data dibaca dengan selang {step}."),
        "no_incident": "Tidak tercatat gangguan layanan SPSE pada periode ini.",
        "no_data_at_all": ("Sepanjang periode ini tidak ada data pemantauan dari exporter, sehingga keadaan layanan "
                           "SPSE tidak dapat diterangkan."),
        "incident": "Gangguan {n}: {date}, {start} s.d. {end}",
        "incident_ongoing": "Gangguan {n}: {date}, sejak {start} (belum pulih pada akhir periode)",
        "ongoing": "belum pulih pada akhir periode",
        "start": "Mulai", "end": "Pulih", "duration": "Lama gangguan",
        "failed_probes": "Jumlah pemeriksaan gagal",
        "users_saw": "Yang dialami pengguna",
        "count": "{what} sebanyak {n} kali",
        "reasons": "Alasan kegagalan pemeriksaan",
        "error_page": "halaman galat SPSE (\"terjadi error pada aplikasi SPSE\")",
        "no_answer": "halaman tidak dapat dibuka",
        "effect": "pengguna menerima {what} saat membuka SPSE",
        "effect_no_answer": "SPSE tidak dapat dibuka oleh pengguna",
        "first_link": "Mata rantai pertama yang terputus",
        "since": "sejak",
        "recorded_cause": "Kemungkinan penyebab menurut Prometheus (spse:probable_cause)",
        "time_sources": "Sumber waktu (NTP)",
        "sources_reachable": "{min} dari {configured} dapat dihubungi (jumlah terendah selama gangguan)",
        "offset_before": "selisih waktu sebelum gangguan {offset} detik",
        "offset_during": "selisih waktu terbesar selama gangguan {offset} detik",
        "offset_unknown": "selisih waktu tidak dapat diukur selama gangguan",
        "alerts": "Alert",
        "no_alerts": "tidak ada alert yang tercatat",
        "outside": "Pengamatan dari luar (watcher)",
        "outside_failed": "SPSE juga gagal diakses dari luar, {start} s.d. {end} ({n} pemeriksaan gagal)",
        "outside_ok": "SPSE dapat diakses dari luar selama gangguan: masalah ada pada jalur antara exporter dan SPSE",
        "no_data_inside": ("Tidak ada data pemantauan selama {duration} dari masa gangguan ini (Prometheus tidak "
                           "mendapat data dari exporter)"),
        "chain": "Rantai penyebab",
        "link": "Mata rantai", "went_down": "Terputus", "came_back": "Pulih",
        "still_down": "belum pulih",
        "stayed_up": "tetap normal", "not_monitored": "tidak dipantau",
        "before_data": "sebelum {time}",
        "started_before": "sebelum {time} (SPSE sudah gagal saat data yang dibaca dimulai; majukan --from)",
        "chronology": "Kronologi",
        "time": "Waktu", "event": "Kejadian",
        "ev_link_down": "{link}: terputus",
        "ev_link_up": "{link}: pulih",
        "ev_spse_down": "SPSE mulai gagal ({what})",
        "ev_spse_up": "SPSE kembali normal",
        "ev_alert_fired": "Alert {name} aktif",
        "ev_alert_resolved": "Alert {name} pulih",
        "plots": "Grafik",
        "plot_alt": "Ketersediaan SPSE, rantai penyebab, dan sumber waktu",
        "inside": "dari dalam", "outside_short": "dari luar",
        "plot_up": "NORMAL", "plot_down": "GAGAL", "plot_sources": "sumber NTP terjangkau",
        "plot_offset": "selisih waktu (detik)",
        "no_plots": "Grafik tidak dibuat: pasang matplotlib (di folder spse-exporter: pip install '.[report]').",
        "plot_elsewhere": ("Grafik dimuat dalam laporan HTML (--format html) atau disimpan sebagai berkas PNG di "
                           "direktori yang sama dengan berkas --output."),
        "exporter_down": "Data pemantauan tidak tersedia",
        "exporter_down_item": ("{start} s.d. {end}: Prometheus tidak mendapat data dari exporter; keadaan SPSE "
                               "pada rentang ini tidak diketahui (bukan berarti SPSE mengalami gangguan)."),
        "until_end": "akhir periode",
        "outside_during_gap": ("Dari luar (watcher), SPSE gagal diakses pada {n} pemeriksaan dalam rentang ini: "
                               "jaringan situs mungkin terputus seluruhnya."),
        "outside_ok_during_gap": "Dari luar (watcher), SPSE dapat diakses selama rentang ini.",
        "blips": "Kegagalan singkat yang tidak dihitung sebagai gangguan",
        "blip_item": "{time} ({n} pemeriksaan gagal)",
        "actions": "Tindakan yang telah dilakukan",
        "actions_placeholder": "[TINDAKAN YANG TELAH DILAKUKAN]",
        "closing": ("Demikian berita acara ini dibuat dengan sebenarnya untuk dapat dipergunakan sebagaimana "
                    "mestinya."),
        "kop": ["[NAMA INSTANSI]", "[NAMA UNIT KERJA (LPSE)]", "[ALAMAT, TELEPON, SUREL, LAMAN]"],
        "place_date": "{city}, [TANGGAL]", "city": "[KOTA]",
        "acknowledged": "Mengetahui,", "made_by": "Yang membuat berita acara,",
        "head_position": "[JABATAN, MISALNYA KEPALA LPSE]", "position": "[JABATAN]", "name": "[NAMA]",
        "nip": "NIP. {nip}", "nip_placeholder": "[NIP]",
        "notice_title": "Draf pengumuman",
        "notice_heading": "**PENGUMUMAN**",
        "notice_when": ("Layanan SPSE {site} mengalami gangguan pada hari {date}, pukul {start} sampai dengan {end}. "
                        "Selama gangguan, {effect}."),
        "notice_when_ongoing": "Layanan SPSE {site} mengalami gangguan sejak hari {date}, pukul {start}. "
                               "Selama gangguan, {effect}.",
        "notice_cause": "Gangguan ini disebabkan oleh {cause}.",
        "notice_consequence": "Akibatnya, {consequence}.",
        "notice_recovered": "Layanan SPSE sudah normal kembali sejak {end}.",
        "at_time": "pukul {time}", "on_day_at": "{date} pukul {time}",
        "notice_ongoing": "Kami sedang menangani gangguan ini. Informasi selanjutnya akan kami sampaikan.",
        "notice_actions": "[TINDAK LANJUT BAGI PENGGUNA, MISALNYA PENYESUAIAN JADWAL TAHAPAN PEMILIHAN]",
        "notice_closing": "Kami mohon maaf atas ketidaknyamanan ini. Terima kasih.",
        "signed": "[NAMA LPSE]",
    },
    "en": {
        "title": "SPSE SERVICE DISRUPTION REPORT (BERITA ACARA GANGGUAN)",
        "number": "Number: [REPORT NUMBER]",
        "opening": ("On [DAY, DATE], the undersigned state that according to the monitoring data (spse-exporter "
                    "and Prometheus) the SPSE service of {site} recorded the following between {start} and {end}."),
        "rule": ("Rule: an incident starts at the first failed probe and ends at the first successful probe after "
                 "it; failures less than {gap} apart are one incident; fewer than {min} failed probes are not an "
                 "incident. Data resolution: {step}."),
        "no_incident": "No SPSE service disruption was recorded in this period.",
        "no_data_at_all": ("There is no monitoring data from the exporter for this whole period, so the state of the "
                           "SPSE service cannot be stated."),
        "incident": "Incident {n}: {date}, {start} to {end}",
        "incident_ongoing": "Incident {n}: {date}, from {start} (not recovered at the end of the period)",
        "ongoing": "not recovered at the end of the period",
        "start": "Start", "end": "Recovered", "duration": "Duration",
        "failed_probes": "Failed probes",
        "users_saw": "What users saw",
        "count": "{what}: {n} times",
        "reasons": "Probe failure reasons",
        "error_page": "SPSE's error page (\"terjadi error pada aplikasi SPSE\")",
        "no_answer": "a page that would not load",
        "effect": "users received {what} when opening SPSE",
        "effect_no_answer": "users could not open SPSE",
        "first_link": "First link of the chain that broke",
        "since": "since",
        "recorded_cause": "Probable cause recorded by Prometheus (spse:probable_cause)",
        "time_sources": "Time sources (NTP)",
        "sources_reachable": "{min} of {configured} reachable (the fewest during the incident)",
        "offset_before": "clock offset before the incident {offset} s",
        "offset_during": "largest clock offset during the incident {offset} s",
        "offset_unknown": "clock offset could not be measured during the incident",
        "alerts": "Alerts",
        "no_alerts": "no alert recorded",
        "outside": "Outside view (watcher)",
        "outside_failed": "SPSE failed from outside as well, {start} to {end} ({n} failed probes)",
        "outside_ok": ("SPSE was reachable from outside during the incident: the problem lies on the path between "
                       "the exporter and SPSE"),
        "no_data_inside": ("No monitoring data for {duration} of this incident (Prometheus got no data from the "
                           "exporter)"),
        "chain": "Root-cause chain",
        "link": "Link", "went_down": "Went down", "came_back": "Came back",
        "still_down": "not recovered",
        "stayed_up": "stayed up", "not_monitored": "not monitored",
        "before_data": "before {time}",
        "started_before": "before {time} (SPSE was already failing where the data read begins; use an earlier --from)",
        "chronology": "Chronology",
        "time": "Time", "event": "Event",
        "ev_link_down": "{link}: down",
        "ev_link_up": "{link}: back",
        "ev_spse_down": "SPSE starts failing ({what})",
        "ev_spse_up": "SPSE back to normal",
        "ev_alert_fired": "Alert {name} fired",
        "ev_alert_resolved": "Alert {name} resolved",
        "plots": "Plots",
        "plot_alt": "SPSE availability, root-cause chain and time sources",
        "inside": "inside", "outside_short": "outside",
        "plot_up": "UP", "plot_down": "DOWN", "plot_sources": "NTP sources reachable", "plot_offset": "offset (s)",
        "no_plots": "No plots: install matplotlib (in the spse-exporter folder: pip install '.[report]').",
        "plot_elsewhere": "The plots are in the HTML report (--format html), or next to the --output file.",
        "exporter_down": "No monitoring data",
        "exporter_down_item": ("{start} to {end}: Prometheus got no data from the exporter; the state of SPSE "
                               "in this period is unknown (this is not an SPSE outage)."),
        "until_end": "end of the period",
        "outside_during_gap": ("From outside (watcher), SPSE failed {n} probes in this period: the site's whole "
                               "uplink may have been cut."),
        "outside_ok_during_gap": "From outside (watcher), SPSE was reachable throughout this period.",
        "blips": "Short failures not counted as incidents",
        "blip_item": "{time} ({n} failed probes)",
        "actions": "Actions taken",
        "actions_placeholder": "[ACTIONS TAKEN]",
        "closing": "This report is made truthfully, to be used as appropriate.",
        "kop": ["[AGENCY NAME]", "[UNIT NAME (LPSE)]", "[ADDRESS, TELEPHONE, E-MAIL, WEBSITE]"],
        "place_date": "{city}, [DATE]", "city": "[CITY]",
        "acknowledged": "Acknowledged by,", "made_by": "Made by,",
        "head_position": "[POSITION, E.G. HEAD OF THE LPSE]", "position": "[POSITION]", "name": "[NAME]",
        "nip": "NIP {nip}", "nip_placeholder": "[EMPLOYEE NUMBER]",
        "notice_title": "Public notice draft",
        "notice_heading": "**ANNOUNCEMENT**",
        "notice_when": ("The SPSE service of {site} was disrupted on {date}, from {start} to {end}. "
                        "During the disruption, {effect}."),
        "notice_when_ongoing": ("The SPSE service of {site} has been disrupted since {date}, {start}. "
                                "During the disruption, {effect}."),
        "notice_cause": "The disruption was caused by {cause}.",
        "notice_consequence": "As a result, {consequence}.",
        "notice_recovered": "The SPSE service has been back to normal since {end}.",
        "at_time": "{time}", "on_day_at": "{date} {time}",
        "notice_ongoing": "We are handling the disruption. We will inform you of further developments.",
        "notice_actions": "[FOLLOW-UP FOR USERS, E.G. ADJUSTED TENDER SCHEDULES]",
        "notice_closing": "We apologise for the inconvenience. Thank you.",
        "signed": "[LPSE NAME]",
    },
}

# Each link as the first cause ("caused by ..."); by name and as a consequence of an earlier link, the formatter's
# LINKS and LOST.
CAUSES = {
    "id": {"gateway": "terputusnya koneksi ke gateway (router lokal) jaringan LPSE",
           "national": "terputusnya konektivitas nasional dari penyedia layanan internet",
           "global": "terputusnya konektivitas global (internasional) dari penyedia layanan internet",
           "time_sources": "tidak dapat dihubunginya sumber waktu (NTP) server SPSE",
           "spse": "kendala teknis pada server atau aplikasi SPSE (jaringan dan sumber waktu dalam keadaan baik)"},
    "en": {"gateway": "the loss of the LPSE network's gateway (local router)",
           "national": "the loss of national connectivity at the internet provider",
           "global": "the loss of global (international) connectivity at the internet provider",
           "time_sources": "the SPSE server's time sources (NTP) becoming unreachable",
           "spse": "a fault of the SPSE server or application (network and time sources were fine)"},
}


def status(code: str) -> str:
    """"ERROR 504 Gateway Timeout" for errors, as users saw it, "200 OK" otherwise."""
    try:
        phrase = HTTPStatus(int(code)).phrase
    except ValueError:
        phrase = ""
    text = f"{code} {phrase}" if phrase else code
    return f"ERROR {text}" if code.startswith(("4", "5")) else text
