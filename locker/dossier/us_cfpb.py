"""The CFPB debt-collection complaint: the narrative (within the form's 4,000 characters)
and the records mapped to FDCPA and Regulation F issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from locker.core.labels import kind_label
from locker.dossier.blocks import Block, Grid, KeyValues, Para, Section
from locker.dossier.data import DossierData, Row, is_night, row_summary
from locker.dossier.formatting import fmt_money, fmt_time
from locker.dossier.summary import loan_facts

CFPB_NARRATIVE_LIMIT = 4000
REG_F_CALLS_IN_7_DAYS = 7


@dataclass
class Issue:
    title: str
    rule: str
    found: bool
    facts: str
    examples: list[str] = field(default_factory=list)


def _conversations_then_calls(rows: list[Row]) -> int:
    """Calls placed within 7 days after a telephone conversation (Reg F 1006.14(b)(2)(ii))."""
    calls = [r for r in rows if r.kind == "call" and r.body.get("direction") != "outgoing"]
    calls.sort(key=lambda r: r.when)
    count = 0
    last_talk: datetime | None = None
    for row in calls:
        if last_talk is not None and row.when - last_talk < timedelta(days=7):
            count += 1
        talked = (row.body.get("duration_s") or 0) > 0
        if row.body.get("direction", "incoming") == "incoming" and talked:
            last_talk = row.when
    return count


def cfpb_issues(data: DossierData) -> list[Issue]:
    conduct = data.conduct
    rows = data.rows
    night_rows = [
        r for r in rows if r.kind in ("call", "message", "contact_report") and is_night(r.when)
    ]
    third = [
        r
        for r in rows
        if r.kind == "contact_report"
        or {"third_party_contact", "contact_list_blast", "workplace_contact"} & set(r.tags)
    ]
    abusive = [r for r in rows if {"threat", "insult", "public_shaming"} & set(r.tags)]
    false_rep = [r for r in rows if {"impersonation", "fake_legal_document"} & set(r.tags)]
    after_talk = _conversations_then_calls(rows)

    def examples(chosen: list[Row]) -> list[str]:
        return [
            f"#{r.seq} {fmt_time(r.when)} {kind_label(r.kind)}: {row_summary(r, 120)}"
            for r in chosen[:3]
        ]

    return [
        Issue(
            _("Frequent or repeated calls"),
            _(
                "Reg F, 12 CFR 1006.14(b): more than 7 calls within 7 consecutive days, or a "
                "call within 7 days after a telephone conversation, is presumed to harass."
            ),
            conduct.max_calls_in_7_days > REG_F_CALLS_IN_7_DAYS or after_talk > 0,
            _(
                "%(calls)d calls recorded; at most %(max7)d within any 7 consecutive days; "
                "%(after)d calls within 7 days after a conversation."
            )
            % {"calls": conduct.calls, "max7": conduct.max_calls_in_7_days, "after": after_talk},
        ),
        Issue(
            _("Calls at inconvenient times"),
            _(
                "FDCPA 15 U.S.C. 1692c(a)(1); Reg F 12 CFR 1006.6(b)(1)(i): before 8 a.m. or "
                "after 9 p.m. local time is presumed inconvenient."
            ),
            bool(night_rows),
            _("%(count)d contacts before 8 a.m. or after 9 p.m.") % {"count": len(night_rows)},
            examples(night_rows),
        ),
        Issue(
            _("Communication with third parties"),
            _(
                "FDCPA 15 U.S.C. 1692c(b); Reg F 12 CFR 1006.6(d): a collector may not discuss "
                "the debt with third parties."
            ),
            bool(third),
            _(
                "%(count)d records of contacts with family, friends, colleagues or the "
                "borrower's contact list; %(reached)d people reached."
            )
            % {"count": len(third), "reached": conduct.contacts_reached},
            examples(third),
        ),
        Issue(
            _("Threats, abusive language or public shaming"),
            _("FDCPA 15 U.S.C. 1692d; Reg F 12 CFR 1006.14."),
            bool(abusive),
            _("%(count)d records tagged as threats, insults or public shaming.")
            % {"count": len(abusive)},
            examples(abusive),
        ),
        Issue(
            _("False or misleading representations"),
            _(
                "FDCPA 15 U.S.C. 1692e; Reg F 12 CFR 1006.18: impersonating officials or "
                "lawyers, fake legal documents."
            ),
            bool(false_rep),
            _("%(count)d records tagged as impersonation or fake legal documents.")
            % {"count": len(false_rep)},
            examples(false_rep),
        ),
    ]


def cfpb_narrative(data: DossierData, issues: list[Issue]) -> str:
    """The complaint narrative, at most 4,000 characters (the CFPB form's limit)."""
    facts = data.case_facts
    conduct = data.conduct
    who = " / ".join(
        v
        for v in (facts.get("collector_agency"), facts.get("lender"), facts.get("lending_app"))
        if v
    ) or _("the debt collector")
    parts = [
        _(
            "%(who)s has been collecting a debt from me in a way I believe breaks the FDCPA "
            "and Regulation F."
        )
        % {"who": who},
        _(
            "Between %(first)s and %(last)s I recorded %(contacts)d contacts from "
            "%(numbers)d different numbers; %(night)d were before 8 a.m. or after 9 p.m."
        )
        % {
            "first": fmt_time(conduct.first),
            "last": fmt_time(conduct.last),
            "contacts": conduct.contact_count,
            "numbers": len(conduct.collector_numbers),
            "night": conduct.night_contacts,
        },
    ]
    for issue in issues:
        if issue.found:
            parts.append(f"{issue.title}: {issue.facts}")
    if facts.get("principal_minor") and facts.get("received_minor"):
        currency = facts.get("currency") or ""
        parts.append(
            _("The loan principal was stated as %(principal)s, but I received %(received)s.")
            % {
                "principal": fmt_money(facts["principal_minor"], currency),
                "received": fmt_money(facts["received_minor"], currency),
            }
        )
    parts.append(
        _(
            "Each record is kept in a tamper-evident hash chain; a signed dossier with the "
            "timeline and evidence is attached. I ask the CFPB to make the collector stop "
            "these practices."
        )
    )
    # Examples go in while they fit; the closing request must always be there.
    closing = parts.pop()
    text = " ".join(parts)
    for issue in issues:
        for example in issue.examples if issue.found else []:
            if len(text) + len(example) + len(closing) + 2 > CFPB_NARRATIVE_LIMIT:
                break
            text += " " + example
    text = f"{text} {closing}"
    if len(text) > CFPB_NARRATIVE_LIMIT:
        text = text[: CFPB_NARRATIVE_LIMIT - 1] + "…"
    return text


def cfpb(data: DossierData) -> Section:
    issues = cfpb_issues(data)
    narrative = cfpb_narrative(data, issues)
    blocks: list[Block] = [
        Para(
            _("What happened (narrative, %(chars)d of at most 4,000 characters)")
            % {"chars": len(narrative)},
            "h3",
        ),
        Para(narrative),
        Para(_("Issues"), "h3"),
        Grid(
            [_("Issue"), _("Found in the records"), _("Rule"), _("Facts")],
            [
                [
                    i.title,
                    _("yes") if i.found else _("no"),
                    i.rule,
                    "\n".join([i.facts, *i.examples]),
                ]
                for i in issues
            ],
            [0.18, 0.1, 0.32, 0.4],
        ),
        Para(_("Company information"), "h3"),
        KeyValues(loan_facts(data)),
    ]
    return Section(_("Complaint"), blocks, new_page=True)
