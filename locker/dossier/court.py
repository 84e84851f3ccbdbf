"""The court exhibit bundle's own sections: the draft certification of the records'
integrity and, when the owner asked for it, the access log."""

from __future__ import annotations

from django.utils.translation import gettext as _

from locker.dossier.blocks import Block, Marker, Para, Section
from locker.dossier.data import DossierData


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
