"""The CFPB debt-collection complaint: the consumer, the creditor and the collector, the form's
issue / sub-issue values the records support (cfpb_form), the narrative (within the form's
4,000 characters) and the Regulation F findings (locker.core.regf) with the entries that
support each, per debt and per collector number.

Every count is said once and comes from one place: the case page's figures
(locker.core.stats, through the dossier's Conduct) and the Reg F findings on the same
events. The narrative is built from distinct facts: each example entry appears once."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from locker.core.labels import field_label, join_list, kind_label
from locker.dossier.blocks import Block, Grid, KeyValues, Para, Section
from locker.dossier.cfpb_form import FormChoice, form_choices, form_text
from locker.dossier.data import DossierData, Row, effective_rows, row_summary
from locker.dossier.formatting import fmt_money, fmt_time, unknown
from locker.dossier.summary import loan_facts

CFPB_NARRATIVE_LIMIT = 4000
EXAMPLE_CHARS = 120
# A cell lists at most this many entries; the timeline has them all.
REFS_SHOWN = 120


@dataclass(frozen=True)
class Finding:
    title: str
    rule: str
    found: bool
    result: str
    seqs: list[int]


def entry_refs(data: DossierData, seqs: list[int]) -> str:
    """Entries by their timeline number, with their exhibit labels: "#12, #15 (E-15)"."""
    by_seq = {row.seq: row for row in data.rows}
    shown = []
    for seq in sorted(set(seqs))[:REFS_SHOWN]:
        row = by_seq.get(seq)
        labels = " ".join(e.label for e in row.exhibits) if row else ""
        shown.append(f"#{seq} ({labels})" if labels else f"#{seq}")
    text = join_list(shown)
    rest = len(set(seqs)) - len(shown)
    if rest > 0:
        text += " " + _("and %(count)d more (see the timeline)") % {"count": rest}
    return text or "—"


def _day(value: object) -> str:
    return f"{value:%Y-%m-%d}" if value else "—"


def regf_findings(data: DossierData) -> list[Finding]:
    """The Reg F findings for the debt (the case), in the order a lawyer checks them."""
    found = data.conduct.regf
    conduct = data.conduct
    zone = data.dossier.time_zone
    freq = found.frequency
    findings = [
        Finding(
            _("More than 7 calls within 7 consecutive days"),
            _("12 CFR 1006.14(b)(2)(i); FDCPA 15 U.S.C. 1692d(5)"),
            freq.found,
            _(
                "%(over)d calls beyond the seventh within 7 consecutive days; at most "
                "%(most)d calls in the 7 days from %(from)s."
            )
            % {
                "over": len(freq.over_limit),
                "most": freq.most_in_7_days,
                "from": _day(freq.busiest_from),
            },
            freq.over_limit,
        ),
        Finding(
            _("A call within 7 days after a telephone conversation"),
            _("12 CFR 1006.14(b)(2)(ii)"),
            bool(found.after_conversation),
            _("%(count)d calls placed within 7 days after a telephone conversation.")
            % {"count": len(found.after_conversation)},
            [pair.call for pair in found.after_conversation],
        ),
        Finding(
            _("Contacts at inconvenient times"),
            _("12 CFR 1006.6(b)(1)(i); FDCPA 15 U.S.C. 1692c(a)(1)"),
            bool(found.night),
            _("%(count)d calls and messages before 8 a.m. or after 9 p.m. (%(zone)s).")
            % {"count": conduct.night_contacts, "zone": zone},
            found.night,
        ),
        Finding(
            _("Communications with third parties"),
            _("12 CFR 1006.6(d) and 1006.10; FDCPA 15 U.S.C. 1692b, 1692c(b)"),
            bool(found.third_parties),
            # Each figure with its own plural; the sentence joins them.
            _("%(reached)s (%(people)s); %(work)s")
            % {
                "reached": ngettext(
                    "%(count)d contact of the borrower reached",
                    "%(count)d contacts of the borrower reached",
                    len(found.third_parties),
                )
                % {"count": len(found.third_parties)},
                "people": ngettext(
                    "%(people)d different person",
                    "%(people)d different people",
                    conduct.contacts_reached,
                )
                % {"people": conduct.contacts_reached},
                "work": ngettext(
                    "%(work)d of them at the borrower's work.",
                    "%(work)d of them at the borrower's work.",
                    len(found.workplace),
                )
                % {"work": len(found.workplace)},
            },
            found.third_parties,
        ),
    ]
    cease = found.cease
    if cease is None:
        findings.append(
            Finding(
                _("Contacts after a request to stop"),
                _("12 CFR 1006.6(c); FDCPA 15 U.S.C. 1692c(c)"),
                False,
                _("No request to stop is recorded (tag “%(tag)s”).")
                % {"tag": _("I asked them to stop")},
                [],
            )
        )
    else:
        medium = _("in writing") if cease.written else _("by telephone, not in writing")
        findings.append(
            Finding(
                _("Contacts after a request to stop"),
                _("12 CFR 1006.6(c); FDCPA 15 U.S.C. 1692c(c)"),
                bool(cease.contacts_after or cease.third_parties_after),
                ngettext(
                    "First request #%(seq)d (%(medium)s); after it %(contacts)d call or message",
                    "First request #%(seq)d (%(medium)s); after it %(contacts)d calls and messages",
                    len(cease.contacts_after),
                )
                % {"seq": cease.request, "medium": medium, "contacts": len(cease.contacts_after)}
                + " "
                + ngettext(
                    "and %(third)d contact of the borrower reached.",
                    "and %(third)d contacts of the borrower reached.",
                    len(cease.third_parties_after),
                )
                % {"third": len(cease.third_parties_after)},
                [*cease.requests, *cease.contacts_after, *cease.third_parties_after],
            )
        )
    return findings


def number_rows(data: DossierData) -> list[list[str]]:
    rows = []
    for number in data.conduct.regf.numbers:
        rows.append(
            [
                number.number,
                str(len(number.calls)),
                str(len(number.messages)),
                str(len(number.night)),
                str(number.frequency.most_in_7_days),
                entry_refs(data, number.frequency.over_limit) if number.frequency.found else "—",
                join_list(number.caller_claims) or "—",
            ]
        )
    return rows


def _example(row: Row) -> str:
    words = row_summary(row, EXAMPLE_CHARS)
    if not words and row.exhibits:  # a message known by its screenshot only
        words = _("see the screenshot %(labels)s") % {
            "labels": " ".join(exhibit.label for exhibit in row.exhibits)
        }
    return f"#{row.seq} {fmt_time(row.when)} {kind_label(row.kind)}: {words}"


def examples(data: DossierData, choices: list[FormChoice], findings: list[Finding]) -> list[Row]:
    """One example entry per finding and form value, in turn, never the same entry twice,
    most wanted first; with corrections applied (as the counts are)."""
    by_seq = {row.seq: row for row in effective_rows(data.rows, data.conduct.events)}
    groups = [f.seqs for f in findings if f.found] + [c.seqs for c in choices]
    chosen: list[int] = []
    for depth in range(3):
        for seqs in groups:
            fresh = [s for s in seqs if s not in chosen and s in by_seq]
            if len(seqs) > depth and fresh:
                chosen.append(fresh[0])
    return [by_seq[seq] for seq in chosen]


def cfpb_narrative(data: DossierData, choices: list[FormChoice], findings: list[Finding]) -> str:
    """The complaint narrative, at most 4,000 characters (the CFPB form's limit): each fact
    once, then examples while they fit, then the request."""
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
            "Between %(first)s and %(last)s I recorded %(contacts)d calls and messages from "
            "%(numbers)d different numbers."
        )
        % {
            "first": fmt_time(conduct.first),
            "last": fmt_time(conduct.last),
            "contacts": conduct.contact_count,
            "numbers": len(conduct.regf.numbers),
        },
    ]
    parts += [f"{f.title}: {f.result}" for f in findings if f.found]
    for choice in choices:
        if choice.in_findings:  # its count is the finding's, said above
            continue
        label = form_text(choice.sub_issue) if choice.sub_issue else form_text(choice.issue)
        parts.append(
            ngettext(
                "%(value)s: %(count)d record.", "%(value)s: %(count)d records.", len(choice.seqs)
            )
            % {"value": label, "count": len(choice.seqs)}
        )
    if facts.get("principal_minor") and facts.get("received_minor"):
        currency = facts.get("currency") or ""
        parts.append(
            _("The loan principal was stated as %(principal)s, but I received %(received)s.")
            % {
                "principal": fmt_money(facts["principal_minor"], currency),
                "received": fmt_money(facts["received_minor"], currency),
            }
        )
    closing = _(
        "Each record is kept in a tamper-evident hash chain; a signed dossier with the "
        "timeline and evidence is attached. I ask the CFPB to make the collector stop "
        "these practices."
    )
    text = " ".join(parts)
    # Examples go in while they fit, most wanted first, then are told in the order they
    # happened; the closing request must always be there.
    room = CFPB_NARRATIVE_LIMIT - len(text) - len(closing) - 1
    told: list[Row] = []
    for row in examples(data, choices, findings):
        example = _example(row)
        if len(example) + 1 > room:
            break
        told.append(row)
        room -= len(example) + 1
    for row in sorted(told, key=lambda row: (row.when, row.seq)):
        text += " " + _example(row)
    text = f"{text} {closing}"
    if len(text) > CFPB_NARRATIVE_LIMIT:
        text = text[: CFPB_NARRATIVE_LIMIT - 1] + "…"
    return text


def method_note(data: DossierData) -> str:
    zone = data.dossier.time_zone
    return _(
        "How the findings are computed (the same records and figures as the case page, "
        "corrections applied): the case is one debt. A call placed by the collector is an "
        "incoming or missed call, from any number. “7 consecutive days” are calendar days in "
        "%(zone)s. A telephone conversation is an incoming or outgoing call that lasted; the "
        "day of the conversation is the first of the 7 days after it. Inconvenient times are "
        "before 08:00 and from 21:00 in %(zone)s. A third-party contact is a record of the "
        "kind “A contact was harassed”: a contact of the borrower states, through their own "
        "link or through the borrower, that the collector reached them. Threats to tell "
        "others, made to the borrower, are not counted as third-party contacts. A request to "
        "stop is a call or message tagged “I asked them to stop”. Entries are numbered as in "
        "the timeline (#) with their exhibit labels (E-)."
    ) % {"zone": zone}


def consumer_block(data: DossierData) -> list[tuple[str, str]]:
    consumer = data.consumer
    return [
        (_("Name"), (consumer.name if consumer else "") or unknown()),
        (_("E-mail"), (consumer.email if consumer else "") or unknown()),
        (_("Phone number"), (consumer.phone if consumer else "") or unknown()),
        (_("Postal address"), (consumer.address if consumer else "") or unknown()),
    ]


def company_block(data: DossierData) -> list[tuple[str, str]]:
    """The creditor and the collector as recorded, then the loan facts."""
    facts = data.case_facts
    # Every number that called or wrote, as in the table per number below.
    numbers = [number.number for number in data.conduct.regf.numbers]
    items = [
        (_("Creditor (lender)"), facts.get("lender") or unknown()),
        (field_label("lending_app"), facts.get("lending_app") or unknown()),
        (_("Debt collector (collection agency)"), facts.get("collector_agency") or unknown()),
        (
            _("Collector numbers"),
            join_list(numbers[:60]) + (" …" if len(numbers) > 60 else "") if numbers else "—",
        ),
    ]
    skip = {field_label(n) for n in ("lender", "lending_app", "collector_agency")}
    return items + [item for item in loan_facts(data) if item[0] not in skip]


def cfpb(data: DossierData) -> Section:
    conduct = data.conduct
    choices = form_choices(conduct.events, conduct.regf)
    findings = regf_findings(data)
    narrative = cfpb_narrative(data, choices, findings)
    blocks: list[Block] = [
        Para(_("Consumer"), "h3"),
        KeyValues(consumer_block(data)),
        Para(_("Creditor and debt collector"), "h3"),
        KeyValues(company_block(data)),
        Para(
            _(
                "The FDCPA and Regulation F bind debt collectors (15 U.S.C. 1692a(6)); a "
                "creditor collecting its own debt in its own name generally is not one. The "
                "records do not say which number belongs to whom: what each caller said they "
                "were is in the table per number below."
            ),
            "small",
        ),
        Para(_("On the form: product “Debt collection”, issue and sub-issue"), "h3"),
        Grid(
            [_("Issue"), _("Sub-issue"), _("Count"), _("Entries")],
            [
                [
                    form_text(c.issue),
                    form_text(c.sub_issue),
                    str(len(c.seqs)),
                    entry_refs(data, c.seqs),
                ]
                for c in choices
            ],
            [0.24, 0.26, 0.08, 0.42],
        ),
        Para(
            _("What happened (narrative, %(chars)d of at most 4,000 characters)")
            % {"chars": len(narrative)},
            "h3",
        ),
        Para(narrative),
        Para(_("Regulation F findings for this debt"), "h3"),
        Grid(
            [_("Finding"), _("Rule"), _("Found"), _("Result"), _("Entries")],
            [
                [
                    f.title,
                    f.rule,
                    _("yes") if f.found else _("no"),
                    f.result,
                    entry_refs(data, f.seqs),
                ]
                for f in findings
            ],
            [0.17, 0.17, 0.06, 0.25, 0.35],
        ),
        Para(_("Per collector number"), "h3"),
        Grid(
            [
                _("Number"),
                _("Calls"),
                _("Messages"),
                _("At night"),
                _("Most calls in 7 days"),
                _("Calls beyond 7 in 7 days"),
                _("Caller said they were"),
            ],
            number_rows(data),
            [0.14, 0.07, 0.08, 0.07, 0.09, 0.35, 0.2],
        ),
        Para(method_note(data), "small"),
    ]
    return Section(_("Complaint"), blocks, new_page=True)
