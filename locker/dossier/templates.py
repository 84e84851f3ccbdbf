"""The four dossier templates: where the dossier goes decides its wording, sections and
order, never its integrity part (timeline, evidence and verification page are the same
in all). Everything here is plain text in the active language (call under
translation.override); render.py escapes it before layout.

Templates: cn_regulator (NFRA 12378 and the Internet Finance Association), cn_12321
(harassing calls and SMS), us_cfpb (CFPB debt-collection complaint, FDCPA / Reg F issue
mapping), court (neutral exhibit bundle with a draft integrity certification)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from locker.dossier.data import DossierData, Row, is_night, row_summary

CFPB_NARRATIVE_LIMIT = 4000
REG_F_CALLS_IN_7_DAYS = 7


@dataclass
class Para:
    text: str
    style: str = "body"


@dataclass
class KeyValues:
    items: list[tuple[str, str]]


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Grid:
    header: list[str]
    rows: list[list[str]]
    widths: list[float]  # fractions of the frame width


@dataclass
class Marker:
    """A part render.py draws from the data: charts, timeline, statements, evidence,
    exhibit_index, access_log, verification."""

    name: str


Block = Para | KeyValues | Bullets | Grid | Marker


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = False


TEMPLATE_KEYS = ("cn_regulator", "cn_12321", "us_cfpb", "court")


def template_title(key: str) -> str:
    return {
        "cn_regulator": _("Complaint about abusive debt collection"),
        "cn_12321": _("Report of harassing calls and text messages"),
        "us_cfpb": _("Debt collection complaint: facts and issues"),
        "court": _("Exhibit bundle: records of communications"),
    }[key]


def template_addressee(key: str) -> str:
    return {
        "cn_regulator": _(
            "To: National Financial Regulatory Administration (consumer hotline 12378) and "
            "the National Internet Finance Association of China"
        ),
        "cn_12321": _("To: 12321 Network Bad Information and Spam Reporting Center"),
        "us_cfpb": _("To: Consumer Financial Protection Bureau (consumerfinance.gov/complaint)"),
        "court": _("Submitted as an exhibit bundle"),
    }[key]


KIND_LABELS = {
    "call": lambda: _("call"),
    "message": lambda: _("message"),
    "contact_report": lambda: _("contact report"),
    "note": lambda: _("note"),
    "correction": lambda: _("correction"),
    "case_update": lambda: _("case facts"),
}

TAG_LABELS = {
    "threat": lambda: _("threat"),
    "insult": lambda: _("insult"),
    "impersonation": lambda: _("impersonation"),
    "fake_legal_document": lambda: _("fake legal document"),
    "third_party_contact": lambda: _("contact with third parties"),
    "contact_list_blast": lambda: _("contact list blasted"),
    "night_time": lambda: _("night-time contact"),
    "excessive_frequency": lambda: _("excessive frequency"),
    "public_shaming": lambda: _("public shaming"),
    "workplace_contact": lambda: _("contact at work"),
    "other": lambda: _("other"),
}

FACT_LABELS = {
    "title": lambda: _("Case"),
    "borrower_name": lambda: _("Borrower"),
    "lender": lambda: _("Lender or platform"),
    "lending_app": lambda: _("Lending app"),
    "collector_agency": lambda: _("Collection agency"),
    "principal_minor": lambda: _("Principal"),
    "received_minor": lambda: _("Amount actually received"),
    "demanded_minor": lambda: _("Amount demanded"),
    "loan_start": lambda: _("Loan start date"),
    "loan_due": lambda: _("Loan due date"),
}


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return label() if label else kind


def tag_label(tag: str) -> str:
    label = TAG_LABELS.get(tag)
    return label() if label else tag


def fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def fmt_money(minor: Any, currency: str) -> str:
    if minor is None or minor == "":
        return "—"
    return f"{int(minor) // 100:,}.{int(minor) % 100:02d} {currency}"


def unknown() -> str:
    return _("not stated")


def loan_facts(data: DossierData) -> list[tuple[str, str]]:
    facts = data.case_facts
    currency = facts.get("currency") or ""
    items = []
    for name in ("lender", "lending_app", "collector_agency"):
        items.append((FACT_LABELS[name](), facts.get(name) or unknown()))
    for name in ("principal_minor", "received_minor", "demanded_minor"):
        value = facts.get(name)
        items.append((FACT_LABELS[name](), fmt_money(value, currency) if value else unknown()))
    for name in ("loan_start", "loan_due"):
        items.append((FACT_LABELS[name](), facts.get(name) or unknown()))
    return items


def period(data: DossierData) -> str:
    dossier = data.dossier
    if dossier.date_from or dossier.date_to:
        start = dossier.date_from.isoformat() if dossier.date_from else "…"
        end = dossier.date_to.isoformat() if dossier.date_to else "…"
        return f"{start} – {end}"
    if data.rows:
        return f"{data.rows[0].when:%Y-%m-%d} – {data.rows[-1].when:%Y-%m-%d}"
    return "—"


def cover(data: DossierData) -> Section:
    dossier = data.dossier
    facts = data.case_facts
    counts = ", ".join(
        f"{kind_label(kind)} {count}" for kind, count in sorted(data.conduct.by_kind.items())
    )
    items = [
        (FACT_LABELS["title"](), facts.get("title") or ""),
        (FACT_LABELS["lender"](), facts.get("lender") or unknown()),
        (FACT_LABELS["lending_app"](), facts.get("lending_app") or unknown()),
        (FACT_LABELS["borrower_name"](), facts.get("borrower_name") or unknown()),
        (_("Period covered"), period(data)),
        (_("Records by kind"), counts or "—"),
        (_("Records shown / in the chain"), f"{len(data.rows)} / {data.length}"),
        (_("Generated at"), f"{data.generated_at:%Y-%m-%d %H:%M} ({dossier.time_zone})"),
        (_("Generated by"), data.requested_by),
        (_("Template"), template_title(dossier.template)),
        (_("Language"), dossier.get_language_display()),
        (_("Dossier id"), str(dossier.id)),
        (_("Case id"), str(dossier.case_id)),
    ]
    blocks: list[Block] = [
        Para(template_addressee(dossier.template), "lead"),
        KeyValues(items),
        Para(
            _(
                "Every record below is one link of a SHA-256 hash chain. The records and "
                "the signed chain head are embedded in this PDF (entries.jsonl, "
                "checkpoint.json), and the PDF is digitally signed: any change to the file "
                "or to a record is detectable. The last page says how to check."
            ),
            "small",
        ),
    ]
    return Section(template_title(dossier.template), blocks)


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
                (_("Distinct collector numbers"), str(len(numbers))),
                (_("Numbers"), ", ".join(numbers[:60]) + (" …" if len(numbers) > 60 else "")),
                (_("Borrower's contacts reached"), str(conduct.contacts_reached)),
                (_("Calls in any 7 days (most)"), str(conduct.max_calls_in_7_days)),
            ]
        )
    )
    blocks.append(Para(_("Loan facts"), "h3"))
    blocks.append(KeyValues(loan_facts(data)))
    title = _("Summary of the records") if neutral else _("Summary of conduct")
    return Section(title, blocks, new_page=True)


def _staff(data: DossierData) -> str:
    claims: dict[str, None] = {}
    for row in data.rows:
        claim = str(row.body.get("caller_claims") or "").strip() if row.kind == "call" else ""
        if claim:
            claims.setdefault(claim, None)
    parts = list(claims)[:20]
    numbers = data.conduct.collector_numbers[:20]
    if numbers:
        parts.append(_("numbers used: %(numbers)s") % {"numbers": ", ".join(numbers)})
    return "; ".join(parts) or unknown()


def regulator_complaint(data: DossierData) -> Section:
    facts = data.case_facts
    conduct = data.conduct
    institution = " / ".join(
        v
        for v in (facts.get("lender"), facts.get("lending_app"), facts.get("collector_agency"))
        if v
    )
    request = [
        _("Order the institution and its collectors to stop the abusive collection described."),
        _("Investigate the disclosure and use of my contact list and personal information."),
        _(
            "Check the loan's lawfulness, including the amount actually received against the "
            "principal stated and the amount demanded."
        ),
        _("Tell me in writing the result of the investigation."),
    ]
    facts_text = _(
        "From %(first)s to %(last)s the collectors contacted me %(contacts)d times in the "
        "records below, %(night)d times before 08:00 or after 21:00, using %(numbers)d "
        "different numbers, and reached %(reached)d of my contacts."
    ) % {
        "first": fmt_time(conduct.first),
        "last": fmt_time(conduct.last),
        "contacts": conduct.contact_count,
        "night": conduct.night_contacts,
        "numbers": len(conduct.collector_numbers),
        "reached": conduct.contacts_reached,
    }
    tagged = [
        _("%(tag)s: %(count)d times") % {"tag": tag_label(tag), "count": stat.count}
        for tag, stat in sorted(conduct.tags.items(), key=lambda kv: -kv[1].count)
    ]
    basis = [
        _(
            "Personal Information Protection Law of the PRC (processing and disclosure of "
            "personal information, including the contact list, without consent)."
        ),
        _(
            "National Internet Finance Association of China, Guidelines on Post-loan "
            "Collection Risk Control for Internet Consumer Credit (2018): no violent or "
            "abusive collection, no contact with unrelated third parties, collection only "
            "between 08:00 and 21:00."
        ),
        _(
            "Public Security Administration Punishments Law, art. 42 (threats, insults, "
            "repeated harassing messages)."
        ),
        _(
            "Criminal Law, art. 293-1 (collection of illegal debts by threats or harassment), "
            "where the debt is unlawful."
        ),
    ]
    blocks: list[Block] = [
        KeyValues(
            [
                (_("Complainant"), facts.get("borrower_name") or unknown()),
                (_("Institution complained about"), institution or unknown()),
                (_("Staff involved (where known)"), _staff(data)),
            ]
        ),
        Para(_("Request"), "h3"),
        Bullets(request),
        Para(_("Facts"), "h3"),
        Para(facts_text),
        Bullets(tagged) if tagged else Para("—"),
        Para(_("Basis"), "h3"),
        Bullets(basis),
        Para(
            _(
                "The facts are documented in the timeline and exhibits below; each record "
                "carries its hash and can be verified."
            ),
            "small",
        ),
    ]
    return Section(_("Complaint"), blocks, new_page=True)


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


def court_certification(data: DossierData) -> Section:
    checkpoint = data.checkpoint["checkpoint"]
    blocks: list[Block] = [
        Para(
            _(
                "Draft certification of the integrity of the records (to be completed, "
                "reviewed and signed by the person who can attest to them):"
            )
        ),
        Para(
            _(
                "I, ____________________, certify that the records in this bundle "
                "(%(count)d of %(length)d records of case %(case)s) were recorded by the "
                "Evidence Locker system at the times stated, that each record and each "
                "exhibit file is identified by its SHA-256 hash value, and that the chain of "
                "hash values ending in %(head)s, signed on %(signed)s, matches the records "
                "and exhibits produced. A copy made and identified by hash value in this way "
                "is offered as a true and complete copy of the original, in the spirit of US "
                "Federal Rule of Evidence 902(14)."
            )
            % {
                "count": len(data.rows),
                "length": data.length,
                "case": checkpoint["case"],
                "head": checkpoint["head"],
                "signed": checkpoint["signed_at"],
            }
        ),
        Para(_("Signature: ____________________    Date: ____________    Place: ____________")),
        Para(_("Note on Chinese rules of evidence"), "h3"),
        Para(
            _(
                "Under the Supreme People's Court Provisions on Evidence in Civil Proceedings "
                "(amended 2019), art. 93, a court judges the authenticity of electronic data "
                "by, among others, the reliability of the system that produced, stored and "
                "transmitted it and whether it was kept in a way that prevents alteration; "
                "art. 94 lets the court presume authenticity of electronic data kept in normal "
                "business activity or by a neutral platform, unless there is evidence to the "
                "contrary. The SPC Provisions on Internet Courts (2018), art. 11, name hash "
                "value verification among the accepted technical means of fixing evidence and "
                "preventing tampering. The hash values, the signed chain head and the signed "
                "PDF serve that purpose here."
            )
        ),
    ]
    return Section(_("Certification of records"), blocks, new_page=True)


def access_log_section(data: DossierData) -> Section:
    blocks: list[Block] = [
        Para(
            _(
                "This is the case's access log: every view, download and export of the case "
                "by anyone other than its owner (the people the owner shared it with), as the "
                "server recorded it at the time. Lines can only be added, never changed or "
                "removed. The log is not part of the hash chain: its lines are not covered by "
                "the record hashes or the signed chain head, only by this PDF's signature."
            ),
        ),
        Marker("access_log"),
    ]
    return Section(_("Access log"), blocks, new_page=True)


def sections(data: DossierData) -> list[Section]:
    """The dossier's parts in order for its template. The timeline, the statements, the
    evidence and the verification page are the same in every template."""
    key = data.dossier.template
    timeline = Section(_("Timeline"), [Marker("timeline")], new_page=True)
    statements = Section(_("Statements and notes in full"), [Marker("statements")])
    evidence = Section(_("Evidence"), [Marker("evidence")], new_page=True)
    verification = Section(_("Verification"), [Marker("verification")], new_page=True)
    if key == "cn_regulator":
        middle = [regulator_complaint(data), summary(data)]
    elif key == "cn_12321":
        middle = [report_12321(data), summary(data)]
    elif key == "us_cfpb":
        middle = [cfpb(data), summary(data)]
    elif key == "court":
        index = Section(_("Exhibit index"), [Marker("exhibit_index")], new_page=True)
        middle = [index, summary(data, neutral=True)]
        access_log = [access_log_section(data)] if data.access_log is not None else []
        return [
            cover(data),
            *middle,
            timeline,
            statements,
            evidence,
            court_certification(data),
            *access_log,
            verification,
        ]
    else:
        raise ValueError(f"unknown template {key!r}")
    return [cover(data), *middle, timeline, statements, evidence, verification]
