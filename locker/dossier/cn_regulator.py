"""The complaint to the National Financial Regulatory Administration (12378) and the
National Internet Finance Association of China, with every element arts. 13 and 14 of the
《银行业保险业消费投诉处理管理办法》 ask for: the complainant's name, ID document type and
number and contact details; the institutions (platform, funding institution, collectors)
and staff involved; the request; the facts and grounds; a signature and date; and, when an
agent files, the agent's written authorisation (annex A)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from locker.core.labels import join_list, tag_label
from locker.dossier import complainant
from locker.dossier.blocks import Block, Bullets, KeyValues, Para, Section
from locker.dossier.data import DossierData
from locker.dossier.formatting import fmt_time, unknown


def _staff(data: DossierData) -> str:
    claims: dict[str, None] = {}
    named = str(data.case_facts.get("staff_involved") or "").strip()
    if named:
        claims[named] = None
    for row in data.rows:
        claim = str(row.body.get("caller_claims") or "").strip() if row.kind == "call" else ""
        if claim:
            claims.setdefault(claim, None)
    parts = list(claims)[:20]
    # Every number that called or wrote, as in the conduct analysis's table per number.
    numbers = [number.number for number in data.conduct.regf.numbers[:20]]
    if numbers:
        parts.append(_("numbers used: %(numbers)s") % {"numbers": join_list(numbers)})
    return join_list(parts, strong=True) or unknown()


def regulator_complaint(data: DossierData) -> Section:
    facts = data.case_facts
    conduct = data.conduct
    institution = " / ".join(v for v in (facts.get("lender"), facts.get("lending_app")) if v)
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
        "numbers": len(conduct.regf.numbers),
        "reached": conduct.contacts_reached,
    }
    tagged = [
        ngettext("%(tag)s: %(count)d time", "%(tag)s: %(count)d times", stat.count)
        % {"tag": tag_label(tag), "count": stat.count}
        for tag, stat in sorted(conduct.tags.items(), key=lambda kv: -kv[1].count)
    ]
    basis = [
        _(
            "Personal Information Protection Law of the PRC (processing and disclosure of "
            "personal information, including the contact list, without consent)."
        ),
        # The national standard (approved in 2025) is the one that states hours and a call
        # limit; the 2018 convention is cited only for what it is known to say.
        _(
            "National Internet Finance Association of China, Self-Regulatory Convention on "
            "the Collection of Overdue Internet Finance Debts (trial, 2018): no violent or "
            "abusive collection, no harassment of unrelated third parties."
        ),
        _(
            "National standard Guidelines on Post-loan Collection Risk Control for Internet "
            "Consumer Credit (approved 2025): collect from the debtor only, contact others "
            "only in the narrow cases it allows and never after they refuse; unless agreed, "
            "no collection between 22:00 and 08:00; at most 3 effective calls a day."
        ),
        _(
            "Public Security Administration Punishments Law (threats, insults, repeated "
            "harassing messages: art. 42 of the text in force until 31 December 2025; the "
            "revision in force since 1 January 2026 renumbers its articles)."
        ),
        _(
            "Criminal Law, art. 293-1 (collection of illegal debts by threats or harassment), "
            "where the debt is unlawful."
        ),
    ]
    blocks: list[Block] = [
        Para(_("Complainant"), "h3"),
        KeyValues(complainant.complainant_items(data, with_address=True)),
        KeyValues(complainant.agent_items(data)),
        Para(_("Institution complained about and staff involved"), "h3"),
        KeyValues(
            [
                (
                    _("Institution complained about (platform)"),
                    institution or complainant.missing("institution"),
                ),
                (
                    _("Funding institution (资金方)"),
                    facts.get("funding_institution") or complainant.missing("funding_institution"),
                ),
                (_("Collection agency"), facts.get("collector_agency") or unknown()),
                (_("Staff involved (where known)"), _staff(data)),
            ]
        ),
        Para(_("Request"), "h3"),
        Bullets(request),
        Para(_("Facts and grounds"), "h3"),
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
        *complainant.signature_block(data),
    ]
    return Section(_("Complaint"), blocks, new_page=True)
