"""The "Conduct analysis" and "Loan-cost audit" sections every dossier template carries
(docs/analysis.md). Both come from locker.selectors.analysis.analyse_events, the function
behind the analysis page, over the dossier's own events (data.conduct.events): the page and
every dossier say the same counts. Records are named by their exhibit label, E-<seq>."""

from __future__ import annotations

from django.utils.translation import gettext as _

from locker.core import labels, loan_cost
from locker.core.conduct import ConductAnalysis
from locker.dossier.blocks import Block, Bullets, Grid, KeyValues, Para, Section
from locker.dossier.data import DossierData
from locker.dossier.formatting import fmt_money, fmt_time
from locker.selectors.analysis import analyse_events

MAX_LISTED = 40


def _refs(seqs: list[int]) -> str:
    shown = labels.join_list(f"E-{s}" for s in seqs[:MAX_LISTED])
    return (shown + (" …" if len(seqs) > MAX_LISTED else "")) or "—"


def analysis_sections(data: DossierData) -> list[Section]:
    result = analyse_events(data.case_facts, data.conduct.events)
    return [_conduct(data, result.conduct), _audit(data, result.loan)]


def _conduct(data: DossierData, a: ConductAnalysis) -> Section:
    blocks: list[Block] = [
        KeyValues(
            [
                (_("Contacts (calls and messages)"), str(a.contacts)),
                (
                    _("Most in one day"),
                    f"{a.most_in_a_day}"
                    + (f" ({a.busiest_day.isoformat()})" if a.busiest_day else ""),
                ),
                (_("Most in any 7 days"), str(a.most_in_7_days)),
                (_("Before 08:00 or from 21:00"), f"{len(a.night)}: {_refs(a.night)}"),
                (
                    _("More than 7 calls in 7 days (Reg F 1006.14(b)(2)(i))"),
                    _refs(a.regf.frequency.over_limit),
                ),
                (
                    _("Calls within 7 days after a conversation (1006.14(b)(2)(ii))"),
                    _refs([c.call for c in a.regf.after_conversation]),
                ),
                (
                    _("Contacts of the borrower reached"),
                    f"{a.contacts_reached}: {_refs(a.third_parties)}",
                ),
            ]
        )
    ]
    if a.numbers:
        blocks.append(Para(_("Per collector number"), "h3"))
        blocks.append(
            Grid(
                [
                    _("Number"),
                    _("Calls"),
                    _("Messages"),
                    _("Most in a day"),
                    _("Most in 7 days"),
                    _("At night"),
                    _("Reg F flags"),
                ],
                [
                    [
                        n.number,
                        str(len(n.calls)),
                        str(len(n.messages)),
                        str(n.most_in_a_day),
                        str(n.most_in_7_days),
                        str(len(n.night)),
                        _refs(n.flags),
                    ]
                    for n in a.numbers[:60]
                ],
                [0.2, 0.09, 0.1, 0.11, 0.11, 0.09, 0.3],
            )
        )
    if a.tags:
        blocks.append(
            Para(
                _("Confirmed tags: %(tags)s")
                % {
                    "tags": labels.join_list(
                        (f"{labels.tag_label(t)} {n}" for t, n in a.tags.items()), strong=True
                    )
                }
            )
        )
    blocks.append(
        Para(
            _(
                "Counts are from the records below, corrections applied, times in %(zone)s; "
                "from %(first)s to %(last)s. Tags are the owner's; words in a record can only "
                "suggest one, and suggestions not confirmed are not counted here."
            )
            % {"zone": data.zone.key, "first": fmt_time(a.first), "last": fmt_time(a.last)},
            "small",
        )
    )
    return Section(_("Conduct analysis"), blocks, new_page=True)


def _audit(data: DossierData, loan: loan_cost.LoanCost) -> Section:
    currency = str(data.case_facts.get("currency") or "")
    blocks: list[Block] = []
    facts = loan.facts
    blocks.append(
        KeyValues(
            [
                (labels.field_label("principal_minor"), fmt_money(facts.principal_minor, currency)),
                (labels.field_label("received_minor"), fmt_money(facts.received_minor, currency)),
                (_("Money received on"), facts.disbursed.isoformat() if facts.disbursed else "—"),
                (
                    _("Annual rate the contract states"),
                    loan_cost.rate_text(loan_cost.of_basis_points(facts.stated_rate_bp))
                    if facts.stated_rate_bp is not None
                    else "—",
                ),
            ]
        )
    )
    for title, audit, error in (
        (_("What was paid"), loan.paid, loan.paid_error),
        (_("If what is demanded were paid"), loan.demanded, loan.demanded_error),
    ):
        if audit is None and error is None:
            continue
        blocks.append(Para(title, "h3"))
        if audit is None:
            assert error is not None
            blocks.append(Para(str(error.message)))
            continue
        blocks.append(
            Grid(
                [_("Date"), _("Day"), _("What"), _("Amount"), _("Record")],
                [
                    [
                        f.day.isoformat(),
                        str(f.days),
                        f"{labels.label(labels.PAYMENT_LABELS, f.what)} "
                        f"({labels.label(labels.PAYMENT_STATUS_LABELS, f.status)})",
                        ("+" if f.amount_minor > 0 else "−") + fmt_money(f.abs_minor, currency),
                        f"E-{f.seq}" if f.seq else "",
                    ]
                    for f in audit.flows
                ],
                [0.18, 0.08, 0.34, 0.25, 0.15],
            )
        )
        blocks.append(
            KeyValues(
                [
                    (_("Daily rate r"), loan_cost.rate_text(audit.daily_rate, "0.000001")),
                    (_("APR = r × 365"), loan_cost.rate_text(audit.apr)),
                    (
                        _("Effective annual rate = (1 + r)^365 − 1"),
                        loan_cost.rate_text(audit.effective),
                    ),
                ]
            )
        )
        blocks.append(Bullets(loan_cost.plain_words(audit)))
    if loan.paid is None and loan.paid_error is None:
        blocks.append(Para(_("No loan facts were recorded.")))
    blocks.append(Para(_("Formula: %(formula)s") % {"formula": loan_cost.FORMULA}, "small"))
    return Section(_("Loan-cost audit"), blocks)
