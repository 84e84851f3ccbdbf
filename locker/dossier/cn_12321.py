"""The report to the 12321 Network Bad Information and Spam Reporting Center: harassing
calls and text messages, counted per number."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from locker.dossier.blocks import Block, Grid, KeyValues, Para, Section
from locker.dossier.data import DossierData, is_night
from locker.dossier.formatting import fmt_time, unknown


def report_12321(data: DossierData) -> Section:
    per_number: dict[str, dict[str, Any]] = {}
    for row in data.rows:
        if row.kind == "call" and row.body.get("direction", "incoming") != "outgoing":
            number, kind = str(row.body.get("number") or ""), "call"
        elif row.kind == "message" and row.body.get("channel") == "sms":
            number, kind = str(row.body.get("sender") or ""), "sms"
        else:
            continue
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
    blocks: list[Block] = [
        KeyValues(
            [
                (_("Reporter"), data.case_facts.get("borrower_name") or unknown()),
                (_("Type of report"), ", ".join(kinds) or unknown()),
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
    return Section(_("Report"), blocks, new_page=True)
