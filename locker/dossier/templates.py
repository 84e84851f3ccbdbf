"""The four dossier templates: where the dossier goes decides its wording, sections and
order, never its integrity part (timeline, evidence and verification page are the same
in all). Everything here is plain text in the active language (call under
translation.override); render.py escapes it before layout.

Templates: cn_regulator (NFRA 12378 and the Internet Finance Association), cn_12321
(harassing calls and SMS), us_cfpb (CFPB debt-collection complaint, FDCPA / Reg F issue
mapping), court (neutral exhibit bundle with a draft integrity certification). Each has
its module of the same name; the cover and the summary are shared (cover.py, summary.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from locker.dossier.analysis import analysis_sections
from locker.dossier.blocks import Marker, Section
from locker.dossier.cn_12321 import report_12321
from locker.dossier.cn_regulator import regulator_complaint
from locker.dossier.complainant import authorisation_annex
from locker.dossier.court import (
    access_log_section,
    court_certification,
    needs_translator,
    translator_certificate,
)
from locker.dossier.cover import cover
from locker.dossier.data import DossierData
from locker.dossier.summary import summary
from locker.dossier.us_cfpb import cfpb

TEMPLATE_KEYS = ("cn_regulator", "cn_12321", "us_cfpb", "court")


def sections(data: DossierData) -> list[Section]:
    """The dossier's parts in order for its template. The timeline, the statements, the
    evidence and the verification page are the same in every template."""
    key = data.dossier.template
    timeline = Section(_("Timeline"), [Marker("timeline")], new_page=True)
    statements = Section(_("Statements and notes in full"), [Marker("statements")])
    evidence = Section(_("Evidence"), [Marker("evidence")], new_page=True)
    verification = Section(_("Verification"), [Marker("verification")], new_page=True)
    if key == "cn_regulator":
        middle = [
            regulator_complaint(data),
            *authorisation_annex(data),
            summary(data),
            *analysis_sections(data),
        ]
    elif key == "cn_12321":
        middle = [report_12321(data), summary(data), *analysis_sections(data)]
    elif key == "us_cfpb":
        middle = [cfpb(data), summary(data), *analysis_sections(data)]
    elif key == "court":
        index = Section(_("Exhibit index"), [Marker("exhibit_index")], new_page=True)
        middle = [index, summary(data, neutral=True), *analysis_sections(data)]
        access_log = [access_log_section(data)] if data.access_log is not None else []
        return [
            cover(data),
            *middle,
            timeline,
            statements,
            evidence,
            court_certification(data),
            *([translator_certificate(data)] if needs_translator(data) else []),
            *access_log,
            verification,
        ]
    else:
        raise ValueError(f"unknown template {key!r}")
    return [cover(data), *middle, timeline, statements, evidence, verification]
