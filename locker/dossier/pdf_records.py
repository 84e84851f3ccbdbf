"""The tables of what happened: the timeline of the chain's records, the statements and
notes in full, and (court bundle) the case's access log."""

from __future__ import annotations

from django.utils.translation import gettext as _
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, KeepTogether

from locker.core.labels import join_list, kind_label, tag_label
from locker.dossier.data import DossierData, corrected_by, is_night, row_party, row_summary
from locker.dossier.formatting import fmt_time, money_in
from locker.dossier.pdf_layout import NIGHT, LayoutKit, para
from locker.dossier.provenance import provenance, provenance_by_seq
from locker.selectors import access_wording


def timeline(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    origins = provenance_by_seq(data)
    header = [
        _("Seq"),
        _("Time (claimed / recorded)"),
        _("Kind and author"),
        _("Number or channel"),
        _("Summary"),
        _("Tags"),
        _("Exhibits"),
        _("Hash"),
    ]
    rows = []
    money = money_in(data.case_facts.get("currency"))
    # A Paragraph has its own colour: the night rows' times are red through their style
    # (a table's TEXTCOLOR does not reach into a Paragraph).
    night = ParagraphStyle("cell-night", parent=kit.styles.cell, textColor=NIGHT)
    # A record is shown as it was recorded; one that was corrected says by which records,
    # so a reader does not take its first time or words for the ones the counts use.
    corrections = corrected_by(data.rows)
    for row in data.rows:
        origin = origins[row.seq]
        times = [origin.claimed, origin.recorded]
        if origin.attested is not None:
            times.append(_("TSA %(when)s") % {"when": origin.attested})
        time_cell = "\n".join(times)
        at_night = row.kind in ("call", "message", "contact_report") and is_night(row.when)
        rows.append(
            [
                str(row.seq),
                para(time_cell, night) if at_night else time_cell,
                [
                    para(kind_label(row.kind), kit.styles.cell),
                    para(origin.author, kit.styles.tiny),
                ],
                row_party(row),
                _summary_cell(row_summary(row, money=money), corrections.get(row.seq)),
                join_list(tag_label(t) for t in row.tags),
                " ".join(e.label for e in row.exhibits),
                para(row.hash[:12], kit.styles.tiny, breakable=True),
            ]
        )
    if not rows:
        return [para(_("No records in the chosen range."), kit.styles.body)]
    left_out = data.omitted - data.erased
    notes = []
    if left_out:
        notes.append(
            _(
                "%(omitted)d records outside the chosen dates or kinds are left out; their "
                "hashes are kept in the embedded chain."
            )
            % {"omitted": left_out}
        )
    if data.erased:
        notes.append(
            _(
                "The content of %(erased)d records was erased by the case's owner before this "
                "dossier was made; their hashes are kept in the embedded chain, and a record "
                "of each erasure says when it happened."
            )
            % {"erased": data.erased}
        )
    note = " ".join(notes) or _("All records of the case are shown.")
    # The time column is wide enough for "时间（自述 / 记录）": in a narrower one its closing
    # bracket, which may not start a line, hangs into the next column.
    table = kit.grid(header, rows, [0.05, 0.15, 0.12, 0.12, 0.28, 0.11, 0.07, 0.10], long=True)
    return [para(note, kit.styles.small), table]


def _summary_cell(summary: str, corrections: list[int] | None) -> str:
    if not corrections:
        return summary
    note = _("(corrected by %(seqs)s)") % {"seqs": join_list(f"#{seq}" for seq in corrections)}
    return f"{summary} {note}" if summary else note


def statements(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    flow: list[Flowable] = []
    for row in data.rows:
        full = row_summary(row, limit=None, money=money_in(data.case_facts.get("currency")))
        shown_in_full = row.kind in ("contact_report", "note") or (
            row.kind in ("message", "call") and len(full) > 280
        )
        if not shown_in_full or not full:
            continue
        origin = provenance(data, row)
        title = f"#{row.seq} · {kind_label(row.kind)} · {fmt_time(row.when)}"
        # Who made it and when, under its heading and with it on one page.
        byline = para(" · ".join(origin.lines()), kit.styles.small)
        flow.append(KeepTogether([para(title, kit.styles.h3), byline]))
        flow.append(para(full, kit.styles.body))
    return flow or [
        para(_("There are no statements or notes in the chosen range."), kit.styles.small)
    ]


def access_log(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    part = data.access_log
    zone = data.dossier.time_zone
    until = f"{part.until:%Y-%m-%d %H:%M:%S}" if part is not None else "—"
    if part is None or not part.rows:
        return [
            para(
                _("Nobody other than the owner opened the case up to %(until)s (%(zone)s).")
                % {"until": until, "zone": zone},
                kit.styles.body,
            )
        ]
    rows = [
        [
            f"{row.at.astimezone(data.zone):%Y-%m-%d %H:%M:%S}",
            row.actor,
            access_wording.what(row, part.file_names),
            access_wording.via_label(row.via),
            para(row.ip or "—", kit.styles.tiny, breakable=True),
        ]
        for row in part.rows
    ]
    note = _("Accesses up to %(until)s: %(count)d. Times are in %(zone)s.") % {
        "count": len(rows),
        "until": until,
        "zone": zone,
    }
    return [
        para(note, kit.styles.small),
        kit.grid(
            [_("When"), _("Who"), _("What"), _("Via"), _("IP address")],
            rows,
            [0.15, 0.19, 0.41, 0.12, 0.13],
            long=True,
        ),
    ]
