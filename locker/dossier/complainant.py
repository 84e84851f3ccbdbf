"""The complainant's part of the complaint templates (cn_regulator, cn_12321): who complains
and how to reach them, the agent and their authorisation, and the signature and date. What
is not given is printed as missing, to be filled in by hand, never as a masked or guessed
value. Plain text in the active language, like every template part."""

from __future__ import annotations

from django.utils.translation import gettext as _

from locker.core import identity
from locker.dossier.blocks import Block, KeyValues, Marker, Para, Section
from locker.dossier.data import DossierData
from locker.dossier.formatting import unknown


def missing(element: str) -> str:
    return _("MISSING: %(what)s (to be filled in by hand before filing)") % {
        "what": identity.ELEMENT_LABELS[element]
    }


def person(data: DossierData) -> identity.Complainant:
    return data.complainant or identity.Complainant()


def complaint(data: DossierData) -> identity.Complaint:
    return data.complaint or identity.Complaint()


def complainant_items(data: DossierData, *, with_address: bool) -> list[tuple[str, str]]:
    """The complainant's name, ID document and contact details (art. 13 (1) of the NFRA
    complaint measures)."""
    who = person(data)
    items = [
        (_("Complainant"), who.legal_name or missing("legal_name")),
        (_("ID document type"), who.id_type_label or missing("id_document")),
        (_("ID document number"), who.id_number or missing("id_document")),
        (_("Contact phone"), who.phone or missing("phone")),
        (_("Contact e-mail"), who.email or unknown()),
    ]
    if with_address:
        items.append((_("Postal address"), who.address or missing("address")))
    return items


def agent_items(data: DossierData) -> list[tuple[str, str]]:
    """The agent filing for the complainant and their written authorisation (art. 14)."""
    filed = complaint(data)
    if not filed.has_agent:
        return [(_("Agent"), _("none: the complainant files in person"))]
    authorisation = filed.authorisation
    return [
        (_("Agent"), filed.agent_name),
        (_("Agent's relationship or law firm"), filed.agent_relationship or unknown()),
        (_("Agent's contact"), filed.agent_contact or unknown()),
        (
            _("Written authorisation"),
            _("attached: annex A (SHA-256 %(sha256)s)") % {"sha256": authorisation.sha256}
            if authorisation
            else missing("authorisation"),
        ),
    ]


def signature_block(data: DossierData) -> list[Block]:
    """A typed signature with the date the dossier was made, or lines to sign and date by
    hand; the agent signs too when one files."""
    who = person(data)
    filed = complaint(data)
    blank = "______________________"
    if filed.typed_signature and who.legal_name:
        signed = f"/s/ {who.legal_name}"
        dated = f"{data.generated_at:%Y-%m-%d}"
    else:
        signed, dated = blank, _("____ year ____ month ____ day")
    items = [
        (_("Declaration"), _("I confirm that the facts stated in this complaint are true.")),
        (_("Complainant's signature"), signed),
        (_("Date"), dated),
    ]
    if filed.has_agent:
        items += [(_("Agent's signature"), blank), (_("Date"), _("____ year ____ month ____ day"))]
    # One block, so the heading, the declaration and the lines to sign stay on one page.
    return [Para(_("Signature"), "h3"), KeyValues(items)]


def authorisation_annex(data: DossierData) -> list[Section]:
    """Annex A, the agent's written authorisation as uploaded, when an agent files."""
    filed = complaint(data)
    if not filed.has_agent or filed.authorisation is None:
        return []
    return [
        Section(
            _("Annex A: the agent's written authorisation"),
            [Marker("authorisation")],
            new_page=True,
        )
    ]
