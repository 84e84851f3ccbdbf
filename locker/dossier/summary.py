"""The summary of conduct (or, in the neutral court bundle, of the records) and the loan
facts, which the CFPB complaint repeats."""

from __future__ import annotations

from django.utils.translation import gettext as _

from locker.core.labels import field_label, join_list, tag_label
from locker.dossier.blocks import Block, Grid, KeyValues, Marker, Para, Section
from locker.dossier.data import DossierData
from locker.dossier.formatting import fmt_money, fmt_time, unknown


def loan_facts(data: DossierData) -> list[tuple[str, str]]:
    facts = data.case_facts
    currency = facts.get("currency") or ""
    items = []
    for name in ("lender", "lending_app", "collector_agency"):
        items.append((field_label(name), facts.get(name) or unknown()))
    for name in ("principal_minor", "received_minor", "demanded_minor"):
        value = facts.get(name)
        items.append((field_label(name), fmt_money(value, currency) if value else unknown()))
    for name in ("loan_start", "loan_due"):
        items.append((field_label(name), facts.get(name) or unknown()))
    return items


def summary(data: DossierData, neutral: bool = False) -> Section:
    conduct = data.conduct
    blocks: list[Block] = []
    intro = _(
        "%(contacts)d recorded contacts between %(first)s and %(last)s; %(night)d of them "
        "before 08:00 or after 21:00 local time."
    ) % {
        "contacts": conduct.contact_count,
        "first": fmt_time(conduct.first),
        "last": fmt_time(conduct.last),
        "night": conduct.night_contacts,
    }
    blocks.append(Para(intro))
    if conduct.tags:
        rows = [
            [tag_label(tag), str(stat.count), fmt_time(stat.first), fmt_time(stat.last)]
            for tag, stat in sorted(conduct.tags.items(), key=lambda kv: (-kv[1].count, kv[0]))
        ]
        blocks.append(
            Grid(
                [_("Tag") if neutral else _("Conduct"), _("Count"), _("First"), _("Last")],
                rows,
                [0.4, 0.12, 0.24, 0.24],
            )
        )
    blocks.append(Marker("charts"))
    numbers = conduct.collector_numbers
    blocks.append(
        KeyValues(
            [
                # The case page's figure: numbers that called (messages' senders are in
                # the conduct analysis's table per number).
                (_("Distinct numbers that called"), str(len(numbers))),
                (
                    _("Numbers that called"),
                    join_list(numbers[:60]) + (" …" if len(numbers) > 60 else ""),
                ),
                (_("Borrower's contacts reached"), str(conduct.contacts_reached)),
                (_("Calls in any 7 days (most)"), str(conduct.max_calls_in_7_days)),
            ]
        )
    )
    blocks.append(Para(_("Loan facts"), "h3"))
    blocks.append(KeyValues(loan_facts(data)))
    title = _("Summary of the records") if neutral else _("Summary of conduct")
    return Section(title, blocks, new_page=True)
