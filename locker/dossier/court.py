"""The court exhibit bundle's own sections: the certification of the records (an FRE
902(11)/(13)/(14)-style declaration for a qualified person to complete in English, a draft
integrity certification in Chinese), the third-party times, what the Chinese rules of
evidence say about electronic data and what this bundle does and does not offer under them,
the translator's certificate when an English bundle shows Chinese text, and, when the owner
asked for it, the access log. Plain text in the active language (templates.py)."""

from __future__ import annotations

import re
from datetime import datetime

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from locker.core.labels import join_list, kind_label
from locker.dossier.blocks import Block, Bullets, Grid, Marker, Para, Section
from locker.dossier.data import DossierData, Row, row_party, row_summary
from locker.dossier.formatting import money_in
from locker.dossier.pdf_verification import attested_rows
from locker.dossier.provenance import not_attested_text

# Han characters (unified ideographs, Extensions A to H, compatibility ideographs): the
# text a reader of an English bundle needs a translation of.
_HAN = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af]"
)
SIGNATURE_LINE = "____________________"


def has_chinese(text: str) -> bool:
    return bool(_HAN.search(text))


def shown_text(data: DossierData, row: Row) -> str:
    """All the text of a record the dossier shows: its words in full, its number or
    channel, its files' names."""
    parts = [
        row_summary(row, limit=None, money=money_in(data.case_facts.get("currency"))),
        row_party(row),
        *(exhibit.name for exhibit in row.exhibits),
    ]
    return " — ".join(part for part in parts if part)


def picture_texts(data: DossierData, row: Row) -> list[tuple[str, str]]:
    """(label, text) of the record's pictures whose machine-read text has Chinese: the
    picture itself is the evidence, and a reader of English needs it translated too."""
    found = []
    for exhibit in row.exhibits:
        read = " ".join(data.read_texts.get(exhibit.sha256, "").split())
        if has_chinese(read):
            found.append((exhibit.label, read))
    return found


def rows_in_chinese(data: DossierData) -> list[Row]:
    return [
        row for row in data.rows if has_chinese(shown_text(data, row)) or picture_texts(data, row)
    ]


def needs_translator(data: DossierData) -> bool:
    """An English bundle showing Chinese text gets a translator's certificate."""
    return (get_language() or "").startswith("en") and bool(rows_in_chinese(data))


def _seq_ranges(seqs: list[int]) -> str:
    spans: list[list[int]] = []
    for seq in sorted(seqs):
        if spans and seq == spans[-1][1] + 1:
            spans[-1][1] = seq
        else:
            spans.append([seq, seq])
    return join_list(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _when(data: DossierData, moment: datetime | None) -> str:
    return moment.astimezone(data.zone).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def third_party_time(data: DossierData) -> list[Block]:
    """Per range of records: the RFC 3161 time-stamp authorities that vouch the records
    existed, and by when; the records none has vouched for yet, said plainly."""
    blocks: list[Block] = [Para(_("Third-party time (RFC 3161 time-stamps)"), "h3")]
    report = data.attestation
    if report is None or not report.attested_length:
        blocks.append(
            Para(
                _(
                    "No record in this bundle is time-stamped by a time-stamp authority yet: "
                    "every time in it is this server's own."
                )
            )
        )
        return blocks
    blocks.append(
        Para(
            _(
                "A time-stamp authority's token over a signed chain head shows that the records "
                "up to that head existed no later than the token's time. Times are in %(zone)s; "
                "the tokens are embedded in this PDF (anchors.json)."
            )
            % {"zone": data.zone.key}
        )
    )
    rows = []
    for row in attested_rows(report):
        span = (
            str(row.first_seq)
            if row.first_seq == row.last_seq
            else (f"{row.first_seq}–{row.last_seq}")
        )
        if row.attested_from is None:
            attested = not_attested_text() + " — " + _("only this server's time")
        else:
            attested = _when(data, row.attested_from)
            if row.attested_to and row.attested_to != row.attested_from:
                attested += " – " + _when(data, row.attested_to)
            if row.late:
                attested += " (" + _("late") + ")"
        rows.append([span, attested, join_list(row.attested_by, strong=True) or "—"])
    blocks.append(
        Grid(
            [_("Records"), _("Existed no later than"), _("Time-stamp authority")],
            rows,
            [0.14, 0.36, 0.5],
        )
    )
    return blocks


def _scope(data: DossierData) -> dict[str, object]:
    checkpoint = data.checkpoint["checkpoint"]
    return {
        "count": len(data.rows),
        "length": data.length,
        "case": checkpoint["case"],
        "head": checkpoint["head"],
        "signed": checkpoint["signed_at"],
    }


def fre_certification(data: DossierData) -> list[Block]:
    """A declaration in the form of Fed. R. Evid. 902(11), (13) and (14), for the person who
    can attest to the records to complete: the elements of 803(6)(A)-(C) for 902(11), the
    accurate-result process for 902(13), the hash identification for 902(14), the notice to
    adverse parties, and the 28 U.S.C. § 1746 declaration."""
    scope = _scope(data)
    return [
        Para(
            _(
                "Template: to be completed, and signed only if true, by a qualified person who "
                "can attest to these records (their custodian or someone who knows how they "
                "were made and kept). Strike out what does not apply, and check it against the "
                "rules of the court where it is filed."
            ),
            "small",
        ),
        Para(
            _("Certification of records under Federal Rules of Evidence 902(11), 902(13), 902(14)"),
            "h3",
        ),
        Para(
            _("I, %(blank)s (name), %(blank)s (title or role), declare:")
            % {"blank": SIGNATURE_LINE}
        ),
        *(
            Para(item)
            for item in [
                _(
                    "1. Qualification. I am familiar with the Evidence Locker system and with "
                    "how the records in this bundle were made and kept, because: %(blank)s."
                )
                % {"blank": SIGNATURE_LINE},
                _(
                    "2. The records. This bundle shows %(count)d of the %(length)d records of "
                    "case %(case)s, each with its sequence number and SHA-256 hash value; the "
                    "chain of hash values ends in %(head)s, signed on %(signed)s."
                )
                % scope,
                _(
                    "3. Made at or near the time by someone with knowledge (Rule 803(6)(A)). "
                    "Each record was made at or near the time of the act or event it records "
                    "by, or from information transmitted by, someone with knowledge of it: its "
                    "author is shown beside it (the borrower, a contact who gave a statement "
                    "through a one-time link, or an automatic source), with its claimed time "
                    "(when it happened, as its author stated) and its recorded time (when the "
                    "server received it)."
                ),
                _(
                    "4. Regularly conducted activity (Rule 803(6)(B), (C)). The records were "
                    "kept in the course of a regularly conducted activity, and making them was "
                    "a regular practice of that activity: %(blank)s (describe). The borrower's "
                    "own entries are the borrower's records, made with this system, not the "
                    "records of a business; whether they meet Rule 803(6) is for the court."
                )
                % {"blank": SIGNATURE_LINE},
                _(
                    "5. An electronic process that produces an accurate result (Rule "
                    "902(13)). On receipt the server gives each record its recorded time from "
                    "its own clock and appends it to the case's SHA-256 hash chain, in which "
                    "each record's hash covers the one before it; it signs the chain head "
                    "(ECDSA P-256) and, where configured, has signed heads time-stamped by "
                    "independent RFC 3161 time-stamp authorities. A record changed, removed or "
                    "inserted afterwards no longer matches the chain, which anyone can check "
                    "by the steps on the verification page."
                ),
                _(
                    "6. Data identified by a process of digital identification (Rule "
                    "902(14)). Every exhibit file was copied from the system's evidence store; "
                    "its SHA-256 hash value is printed beside it, and the original file in the "
                    "case's export bundle has the same hash value."
                ),
                _(
                    "7. I declare under penalty of perjury that the foregoing is true and "
                    "correct (28 U.S.C. § 1746(2), signed within the United States) / under "
                    "the laws of the United States of America that the foregoing is true and "
                    "correct (28 U.S.C. § 1746(1), signed outside the United States)."
                ),
            ]
        ),
        Para(
            _(
                "Executed on (date) %(blank)s at (place) %(blank)s. Signature: %(blank)s  "
                "Name: %(blank)s  Title: %(blank)s"
            )
            % {"blank": SIGNATURE_LINE}
        ),
        Para(
            _(
                "Notice to adverse parties (Rule 902(11)): before the trial or hearing, the "
                "party offering these records must give every adverse party reasonable written "
                "notice of the intent to offer them, and make the records and this "
                "certification available for inspection, so that the party has a fair "
                "opportunity to challenge them. Notice given on %(blank)s to %(blank)s."
            )
            % {"blank": SIGNATURE_LINE},
            "small",
        ),
    ]


def draft_certification(data: DossierData) -> list[Block]:
    """The Chinese bundle's certification of integrity, for the person who can attest to
    the records to complete."""
    return [
        Para(
            _(
                "Draft certification of the integrity of the records (to be completed, "
                "reviewed and signed by the person who can attest to them):"
            )
        ),
        Para(
            _(
                "I, %(blank)s, certify that the records in this bundle (%(count)d of "
                "%(length)d records of case %(case)s) were recorded by the Evidence Locker "
                "system at the recorded times stated, each with its author as shown; that each "
                "record and each exhibit file is identified by its SHA-256 hash value; and "
                "that the chain of hash values ending in %(head)s, signed on %(signed)s, "
                "matches the records and exhibits produced. This printout comes directly from "
                "the electronic data; the original files are in the case's export bundle "
                "under the same hash values."
            )
            % {**_scope(data), "blank": SIGNATURE_LINE}
        ),
        Para(
            _("Signature: %(blank)s    Date: %(blank)s    Place: %(blank)s")
            % {"blank": SIGNATURE_LINE}
        ),
    ]


def chinese_rules() -> list[Block]:
    """What the SPC Provisions on Evidence in Civil Proceedings say about electronic data
    (arts. 14, 15, 93, 94), and which of those points this bundle speaks to: the weighing is
    the court's."""
    return [
        Para(_("Chinese rules of evidence on electronic data"), "h3"),
        Para(
            _(
                "Supreme People's Court, Provisions on Evidence in Civil Proceedings (revised "
                "2019, in force since 1 May 2020):"
            )
        ),
        Bullets(
            [
                _(
                    "Art. 14: electronic data includes information published on web pages, "
                    "blogs, microblogs and other online platforms; the communications of "
                    "online services such as text messages, e-mail, instant messaging and "
                    "communication groups; user registration and identity authentication "
                    "information, electronic transaction records, communication records and "
                    "login logs; electronic files such as documents, pictures, audio, video, "
                    "digital certificates and computer programs; and other information stored, "
                    "processed or transmitted in digital form that can prove the facts of a "
                    "case. The call and message records, screenshots, recordings and statements "
                    "here are of these kinds."
                ),
                _(
                    "Art. 15 (2): a party offering electronic data as evidence provides the "
                    "original. A copy made by the data's producer that is identical with the "
                    "original, or a printout or other output medium that comes directly from "
                    "the electronic data and can be displayed or identified, is treated as the "
                    "original. This PDF is a printout of that kind; the original files, byte "
                    "for byte, are in the case's export bundle under the SHA-256 values shown."
                ),
                _(
                    "Art. 93: the court judges the authenticity of electronic data by weighing "
                    "together (1) whether the hardware and software environment of the system "
                    "that generated, stored and transmitted it was complete and reliable; (2) "
                    "whether it was in normal operation, or if not, whether that affected the "
                    "data; (3) whether it had effective means of monitoring and checking "
                    "against errors; (4) whether the data was stored, transmitted and extracted "
                    "completely, and by reliable methods; (5) whether it was formed and stored "
                    "in normal exchanges; (6) whether those who stored, transmitted or extracted "
                    "it were appropriate; (7) other factors affecting its integrity and "
                    "reliability. Where necessary the court may have it appraised or inspected."
                ),
                _(
                    "Art. 94: unless there is sufficient evidence to the contrary, the court may "
                    "confirm the authenticity of electronic data that is (1) submitted or kept "
                    "by a party and unfavourable to that party; (2) provided or confirmed by a "
                    "neutral third-party platform that records and stores electronic data; "
                    "(3) formed in normal business activity; (4) kept in the manner of archives "
                    "management; or (5) stored, transmitted or extracted in a way the parties "
                    "agreed. Electronic data whose content has been notarised is to be "
                    "confirmed unless contrary evidence suffices to overturn it."
                ),
            ]
        ),
        Para(
            _(
                "What this bundle offers under them: the hash chain, the signed chain head and "
                "the signed PDF speak to art. 93 (3) and (4): whether the records were kept "
                "and passed on complete, by a method anyone can check (the verification "
                "page). Each record's author and recorded time speak to art. 93 (6). Where an "
                "independent RFC 3161 time-stamp authority vouches for a chain head, it is a "
                "third party's statement that the records up to it existed no later than its "
                "time. Art. 94 (2) concerns neutral third-party platforms: Evidence Locker "
                "keeps what the borrower and their contacts entered, at the borrower's request, "
                "so whether it or a time-stamp authority is such a platform for these records, "
                "and what weight they carry, is for the court. Nothing here is notarised. What "
                "the records say, and their claimed times, are their authors' own account; the "
                "chain shows only that they have not changed since they were recorded."
            )
        ),
        Para(
            _(
                "The SPC Provisions on Several Issues Concerning the Trial of Cases by Internet "
                "Courts (2018), art. 11, name electronic signatures, trusted time-stamps and "
                "hash value verification among the technical means of collecting, fixing and "
                "preventing tampering with evidence."
            )
        ),
    ]


def court_certification(data: DossierData) -> Section:
    english = (get_language() or "").startswith("en")
    blocks = fre_certification(data) if english else draft_certification(data)
    blocks += third_party_time(data)
    blocks += chinese_rules()
    return Section(_("Certification of records"), blocks, new_page=True)


def translator_certificate(data: DossierData) -> Section:
    """A form for the translator of the Chinese text an English bundle shows: who they are,
    their qualification and languages, a statement of competence and accuracy, signature
    and date; then each record with Chinese text, its original kept beside the space for
    the translation (the hashes cover the original only)."""
    rows = rows_in_chinese(data)
    blocks: list[Block] = [
        Para(
            _(
                "Records %(seqs)s contain Chinese text. It is reproduced here as it was "
                "recorded, never replaced by a translation: a translation goes beside the "
                "original, and the hash values cover the original only. Form to be completed "
                "by the translator:"
            )
            % {"seqs": _seq_ranges([row.seq for row in rows])}
        ),
        Para(
            _(
                "I, %(blank)s (name), %(blank)s (qualification, e.g. certified translator, "
                "membership number), competent to translate from %(blank)s (source language, "
                "e.g. Chinese (Simplified)) into %(blank)s (target language, e.g. English), "
                "certify that I am competent in both languages and that the translation of "
                "the records listed below is, to the best of my knowledge and ability, "
                "complete and accurate."
            )
            % {"blank": SIGNATURE_LINE}
        ),
        Para(
            _("Signature: %(blank)s    Date: %(blank)s    Address or contact: %(blank)s")
            % {"blank": SIGNATURE_LINE}
        ),
        Para(_("Original text and translation"), "h3"),
    ]
    for row in rows:
        blocks.append(
            Para(
                f"#{row.seq} · {kind_label(row.kind)} — "
                + _("original: %(text)s") % {"text": shown_text(data, row)}
            )
        )
        for label, read in picture_texts(data, row):
            blocks.append(
                Para(
                    _(
                        "text in the picture %(label)s (machine-read, may contain errors; "
                        "translate from the picture): %(text)s"
                    )
                    % {"label": label, "text": read},
                    "small",
                )
            )
        blocks.append(Para(_("translation: %(blank)s") % {"blank": SIGNATURE_LINE * 3}, "small"))
    return Section(_("Translator's certificate"), blocks, new_page=True)


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
