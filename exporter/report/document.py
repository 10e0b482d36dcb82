"""The Berita Acara and the public notice as a list of blocks, which render.py writes as Markdown or HTML."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from exporter import formatting
from exporter.doctor_text import join
from exporter.report import plots, text
from exporter.report.analysis import Incident, NoData, Report
from exporter.report.letterhead import Letterhead, Person
from exporter.report.times import Clock


@dataclass
class Block:
    """kind: letterhead | h1 | h2 | h3 | p | list | points (lettered) | table | image | notice | signatures |
    rule (a page break)."""
    kind: str
    content: object = None
    header: list[str] | None = None


def what_users_saw(incident: Incident, lang: str) -> str:
    """By the most frequent failure reason: SPSE's error page (a 200 with the error text), the most frequent
    error status, or a page that did not load (timeouts, refused connections: no status to show)."""
    reason = incident.failure_reasons[0][0] if incident.failure_reasons else None
    if reason in ("body_match", "spse_error"):
        return text.PHRASES[lang]["error_page"]
    errors = [code for code, _ in incident.status_codes if not code.startswith("2")]
    if reason in (None, "http_status") and errors:
        return text.status(errors[0])
    return text.PHRASES[lang]["no_answer"]


def effect(incident: Incident, lang: str) -> str:
    """What the incident did to users, as the notice says it: "pengguna menerima ERROR 504 ... saat mengakses
    SPSE", or, when nothing came back, "SPSE tidak dapat diakses oleh pengguna"."""
    say = text.PHRASES[lang]
    saw = what_users_saw(incident, lang)
    return say["effect_no_answer"] if saw == say["no_answer"] else say["effect"].format(what=saw)


def build(report: Report, clock: Clock, site_name: str, plot: bytes | None,
          head: Letterhead = Letterhead()) -> list[Block]:
    """The Berita Acara as an office files it: letterhead, title and number, numbered points, the signatures of
    who made it and who acknowledged it; then one public notice per incident, each on its own page."""
    lang = clock.lang
    say = text.PHRASES[lang]
    full = Clock(clock.tz, lang, True)  # date and time, for the window and the no-data periods
    points = itertools.count(1)

    def at(seconds: float | None, missing: str = say["ongoing"]) -> str:
        return missing if seconds is None else clock.time(seconds)

    def point(title: str) -> Block:
        return Block("h2", f"{next(points)}. {title}")

    blocks = [Block("letterhead", letterhead_lines(head, say)), Block("h1", say["title"]), Block("p", say["number"]),
              Block("p", say["opening"].format(site=site_name, start=full.time(report.window_start),
                                               end=full.time(report.window_end))),
              Block("p", say["rule"].format(gap=clock.duration(report.merge_gap), min=report.min_failed,
                                            step=clock.duration(report.step)))]
    if not report.incidents:
        # No data at all (a window before the install, a wrong site) is no evidence that SPSE worked.
        blind = any(gap.start <= report.window_start and gap.end is None for gap in report.exporter_down)
        blocks.append(Block("p", say["no_data_at_all" if blind else "no_incident"]))
    for n, incident in enumerate(report.incidents, 1):
        blocks += incident_blocks(n, incident, report.links_monitored, clock, at, say, point)
    if report.blips:
        blocks += [point(say["blips"]),
                   Block("list", [say["blip_item"].format(time=clock.time(t), n=n) for t, n in report.blips])]
    if report.exporter_down:
        blocks += [point(say["exporter_down"]),
                   Block("list", [no_data(gap, full, say) for gap in report.exporter_down])]
    blocks.append(point(say["plots"]))
    # No plot: matplotlib is missing, or Markdown went to standard output, where there is no file to put it in.
    blocks.append(Block("image", (plot, say["plot_alt"])) if plot else
                  Block("p", say["plot_elsewhere"] if plots.available() else say["no_plots"]))
    blocks += [point(say["actions"]), Block("p", say["actions_placeholder"]), Block("p", say["closing"]),
               Block("signatures", signatures(head, say))]
    for incident in report.incidents:
        blocks += [Block("rule"), Block("h2", say["notice_title"]),
                   Block("notice", notice(incident, clock, site_name, head.unit or say["signed"]))]
    return blocks


def letterhead_lines(head: Letterhead, say: dict) -> dict:
    """The kop surat: the agency, the unit, its address line and the logo; placeholders where the file is silent."""
    agency, unit, contact = say["kop"]
    return {"lines": [head.instansi.upper() or agency, head.unit.upper() or unit,
                      " · ".join(head.contact()) or contact], "logo": head.logo}


def signatures(head: Letterhead, say: dict) -> list[list[str]]:
    """Two columns as a Berita Acara is signed: "Mengetahui," (the head) on the left, the maker on the right under
    the place and date; names and NIP left as placeholders where the letterhead file gives none."""
    def sign(who: Person, position: str) -> list[str]:
        return [who.jabatan or position, "", "", who.nama or say["name"],
                say["nip"].format(nip=who.nip or say["nip_placeholder"])]
    return [["", say["acknowledged"], *sign(head.mengetahui, say["head_position"])],
            [say["place_date"].format(city=head.kota or say["city"]), say["made_by"],
             *sign(head.pembuat, say["position"])]]


def no_data(gap: NoData, full: Clock, say: dict) -> str:
    """A period without data from the exporter, with what the watcher saw meanwhile when it watched."""
    line = say["exporter_down_item"].format(start=full.time(gap.start),
                                            end=say["until_end"] if gap.end is None else full.time(gap.end))
    if gap.outside_failed_probes is not None:
        line += " " + (say["outside_during_gap"].format(n=formatting.number(gap.outside_failed_probes, full.lang))
                       if gap.outside_failed_probes else say["outside_ok_during_gap"])
    return line


def incident_blocks(n: int, incident: Incident, monitored: list[str], clock: Clock, at, say: dict,
                    point) -> list[Block]:
    """One numbered point per incident: its facts as lettered sub-points, the chain, the chronology."""
    lang = clock.lang
    names = formatting.LINKS[lang]
    saw = what_users_saw(incident, lang)
    start = clock.time(incident.start)
    facts = [f"{say['start']}: " + (say["started_before"].format(time=start) if incident.started_before_data
                                    else f"{start} ({clock.date(incident.start)})"),
             f"{say['end']}: {at(incident.end)}"]
    if incident.end is not None:
        facts.append(f"{say['duration']}: {clock.duration(incident.end - incident.start)}")
    facts.append(f"{say['failed_probes']}: {formatting.number(incident.failed_probes, lang)}")
    seen = [say["count"].format(what=text.status(code), n=formatting.number(count, lang))
            for code, count in incident.status_codes]
    if saw not in [text.status(code) for code, _ in incident.status_codes]:
        seen.insert(0, saw)  # the error page (a 200) or no answer at all, before the codes
    facts.append(f"{say['users_saw']}: " + "; ".join(seen))
    if incident.failure_reasons:
        facts.append(f"{say['reasons']}: " + "; ".join(
            say["count"].format(what=f"{formatting.reason(reason, lang)} ({reason})", n=formatting.number(count, lang))
            for reason, count in incident.failure_reasons))
    first = next(link for link in incident.chain if link.link == incident.first_broken_link)
    facts.append(f"{say['first_link']}: **{names[first.link]}**, {say['since']} {clock.time(first.went_down)}")
    if incident.recorded_cause:
        link = formatting.CAUSE_LINKS.get(incident.recorded_cause)
        meaning = formatting.LOST[lang][link] + " " if link else ""
        facts.append(f"{say['recorded_cause']}: {meaning}({incident.recorded_cause})")
    if incident.sources_configured is not None:
        sources = [say["sources_reachable"].format(min=incident.sources_reachable_min
                                                   if incident.sources_reachable_min is not None else "?",
                                                   configured=incident.sources_configured)]
        if incident.offset_before is not None:
            sources.append(say["offset_before"].format(offset=formatting.number(incident.offset_before, lang, 3)))
        sources.append(say["offset_during"].format(offset=formatting.number(incident.offset_max_abs, lang, 3))
                       if incident.offset_max_abs is not None else say["offset_unknown"])
        facts.append(f"{say['time_sources']}: " + "; ".join(sources))
    facts.append(f"{say['alerts']}: " + ("; ".join(
        f"{a.alertname} {clock.time(a.fired_at)} – {at(a.resolved_at, say['still_down'])}" for a in incident.alerts)
        or say["no_alerts"]))
    if incident.outside is not None:
        outside = incident.outside
        facts.append(f"{say['outside']}: " + (
            say["outside_failed"].format(start=clock.time(outside.failing_from), end=at(outside.failing_to),
                                         n=formatting.number(outside.failed_probes, lang)) if outside.failed_probes else say["outside_ok"]))
    if incident.no_data_seconds:
        facts.append(say["no_data_inside"].format(duration=clock.duration(incident.no_data_seconds)))

    chain_rows = [[names[link.link],
                   (say["before_data"].format(time=clock.time(link.went_down)) if link.down_before_data
                    else clock.time(link.went_down)),
                   at(link.came_back, say["still_down"])] for link in incident.chain]
    # The links that held say as much as those that broke (4 April 2023: national routes worked, global ones did not).
    broken = {link.link for link in incident.chain}
    chain_rows += [[names[link], say["stayed_up"] if link in monitored else say["not_monitored"], "–"]
                   for link in names if link not in broken]
    heading = say["incident" if incident.end is not None else "incident_ongoing"]
    return [point(heading.format(n=n, date=clock.date(incident.start), start=clock.time(incident.start),
                                 end=at(incident.end))),
            Block("points", facts),
            Block("h3", say["chain"]), Block("table", chain_rows, [say["link"], say["went_down"], say["came_back"]]),
            Block("h3", say["chronology"]),
            Block("table", chronology(incident, clock, saw, say), [say["time"], say["event"]])]


def chronology(incident: Incident, clock: Clock, saw: str, say: dict) -> list[list[str]]:
    """Every change in time order: links lost and back, SPSE failing and back, alerts fired and resolved."""
    names = formatting.LINKS[clock.lang]
    events = []
    for link in incident.chain:
        if link.link == "spse":
            events.append((link.went_down, 1, say["ev_spse_down"].format(what=saw)))
            if link.came_back is not None:
                events.append((link.came_back, 1, say["ev_spse_up"]))
            continue
        events.append((link.went_down, 0, say["ev_link_down"].format(link=names[link.link])))
        if link.came_back is not None:
            events.append((link.came_back, 0, say["ev_link_up"].format(link=names[link.link])))
    for alert in incident.alerts:
        events.append((alert.fired_at, 2, say["ev_alert_fired"].format(name=alert.alertname)))
        if alert.resolved_at is not None:
            events.append((alert.resolved_at, 2, say["ev_alert_resolved"].format(name=alert.alertname)))
    return [[clock.time(t), event] for t, _, event in sorted(events, key=lambda e: (e[0], e[1]))]


def notice(incident: Incident, clock: Clock, site_name: str, signed: str) -> list[str]:
    """The public notice in short sentences a bidder reads at a glance: when, what users saw, why, and since when
    it works again."""
    say = text.PHRASES[clock.lang]
    day = Clock(clock.tz, clock.lang, False)  # the date is said once, unless the incident ends on another day
    facts = {"site": site_name, "date": day.date(incident.start), "start": day.time(incident.start),
             "effect": effect(incident, clock.lang)}
    if incident.end is None:
        paragraphs = [say["notice_when_ongoing"].format(**facts)]
    else:
        # "sampai dengan 22.24 WITA ... sejak pukul 22.24 WITA", or with its date when it ends on another day
        time = day.time(incident.end)
        if day.short_date(incident.end) != day.short_date(incident.start):
            until = since = say["on_day_at"].format(date=day.short_date(incident.end), time=time)
        else:
            until, since = time, say["at_time"].format(time=time)
        paragraphs = [say["notice_when"].format(end=until, **facts)]
    first, *rest = incident.down_at_start
    consequences = [formatting.LOST[clock.lang][link] for link in rest if link in formatting.LOST[clock.lang]]
    paragraphs.append(" ".join([say["notice_cause"].format(cause=text.CAUSES[clock.lang][first])] + (
        [say["notice_consequence"].format(consequence=join(consequences, clock.lang))] if consequences else [])))
    paragraphs.append(say["notice_recovered"].format(end=since) if incident.end is not None else say["notice_ongoing"])
    return [say["notice_heading"], *paragraphs, say["notice_actions"], say["notice_closing"], signed]
