"""The report to the 12321 Network Bad Information and Spam Reporting Center: the reporter and
their own receiving number(s), the harassing numbers counted, and one row per call or text
message with its time, the sending number and the full text. Numbers are printed the way the
channel takes them (locker.core.identity.channel_number): no spaces, no +86 on a mainland
number."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from locker.core import stats
from locker.core.identity import channel_number
from locker.core.labels import CHANNEL_LABELS, join_list, label
from locker.core.phones import normalise_phone
from locker.dossier import complainant
from locker.dossier.blocks import Block, Grid, KeyValues, Para, Section
from locker.dossier.data import DossierData, Row, effective_rows, is_night, row_summary
from locker.dossier.formatting import fmt_time, unknown


def _reported(data: DossierData) -> list[tuple[Row, str, str]]:
    """The calls and text messages the reporter received, with their sending number and
    kind, as corrected (the counts beside them apply corrections too). What was received is
    the case page's one definition of a contact (stats.is_contact): the reporter's own
    outgoing calls and the messages they sent (their request to stop, say) are not reported.
    Nor is a sender that is no number ("me", a name) counted as a number."""
    received = {event.seq for event in stats.contact_events(data.conduct.events)}
    found = []
    for row in effective_rows(data.rows, data.conduct.events):
        if row.seq not in received:
            continue
        if row.kind == "call":
            number, kind = str(row.body.get("number") or ""), "call"
        elif row.body.get("channel") == "sms":
            number, kind = str(row.body.get("sender") or ""), "sms"
        else:
            continue
        found.append((row, channel_number(number) if normalise_phone(number).key else "", kind))
    return found


def _sender(row: Row, number: str) -> str:
    """The number as the channel takes it; a sender that is no number as it was given."""
    if number:
        return number
    given = str(row.body.get("number") or row.body.get("sender") or "").strip()
    return given or _("hidden")


def _full_text(data: DossierData, row: Row) -> str:
    """The record's words; for a message known only by its screenshot, where to see it and
    the text the worker read from it, marked as machine-read."""
    text = row_summary(row, limit=None)
    if text or not row.exhibits:
        return text or "—"
    labels = " ".join(exhibit.label for exhibit in row.exhibits)
    said = [_("see the screenshot %(labels)s") % {"labels": labels}]
    for exhibit in row.exhibits:
        read = " ".join(data.read_texts.get(exhibit.sha256, "").split())
        if read:
            said.append(_("machine-read text (may contain errors): %(text)s") % {"text": read})
    return join_list(said, strong=True)


def report_12321(data: DossierData) -> Section:
    per_number: dict[str, dict[str, Any]] = {}
    reported = _reported(data)
    for row, number, kind in reported:
        if not number:
            continue
        stat = per_number.setdefault(
            number, {"call": 0, "sms": 0, "night": 0, "first": row.when, "last": row.when}
        )
        stat[kind] += 1
        stat["night"] += is_night(row.when)
        stat["first"] = min(stat["first"], row.when)
        stat["last"] = max(stat["last"], row.when)
    rows = [
        [
            number,
            str(stat["call"]),
            str(stat["sms"]),
            str(stat["night"]),
            fmt_time(stat["first"]),
            fmt_time(stat["last"]),
        ]
        for number, stat in sorted(
            per_number.items(), key=lambda kv: -(kv[1]["call"] + kv[1]["sms"])
        )
    ]
    kinds = []
    if any(r[1] != "0" for r in rows):
        kinds.append(_("harassing calls"))
    if any(r[2] != "0" for r in rows):
        kinds.append(_("harassing text messages"))
    who = complainant.person(data)
    receiving = complainant.complaint(data).receiving_numbers
    blocks: list[Block] = [
        KeyValues(
            [
                (_("Reporter"), who.legal_name or complainant.missing("legal_name")),
                (_("Reporter's contact phone"), who.phone or complainant.missing("phone")),
                (
                    _("Reporter's own number(s) that received them"),
                    join_list(receiving) or complainant.missing("receiving_numbers"),
                ),
                (_("Type of report"), join_list(kinds) or unknown()),
                (_("Numbers reported"), str(len(rows))),
                (
                    _("Related to"),
                    " / ".join(
                        v
                        for v in (data.case_facts.get("lender"), data.case_facts.get("lending_app"))
                        if v
                    )
                    or unknown(),
                ),
            ]
        ),
        Para(
            _(
                "The numbers below called or sent text messages to me, or to my contacts, to "
                "press for repayment of an online loan, repeatedly and at night."
            ),
        ),
    ]
    if rows:
        blocks.append(
            Grid(
                [_("Number"), _("Calls"), _("SMS"), _("At night"), _("First"), _("Last")],
                rows,
                [0.22, 0.1, 0.1, 0.12, 0.23, 0.23],
            )
        )
    if reported:
        blocks.append(Para(_("Each call and text message"), "h3"))
        blocks.append(
            Grid(
                [_("Time"), _("Type"), _("Sending number"), _("Full text")],
                [
                    [
                        fmt_time(row.when),
                        label(CHANNEL_LABELS, kind),
                        _sender(row, number),
                        _full_text(data, row),
                    ]
                    for row, number, kind in reported
                ],
                [0.17, 0.1, 0.18, 0.55],
            )
        )
    return Section(_("Report"), blocks, new_page=True)
