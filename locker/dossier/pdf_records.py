"""The tables of what happened: the timeline of the chain's records, the statements and
notes in full, and (court bundle) the case's access log."""

from __future__ import annotations

from django.utils.translation import gettext as _
from reportlab.platypus import Flowable, KeepTogether, TableStyle

from locker.core.labels import kind_label, tag_label
from locker.dossier.data import DossierData, is_night, row_party, row_summary
from locker.dossier.formatting import fmt_time
from locker.dossier.pdf_layout import NIGHT, LayoutKit, para
from locker.selectors import access_wording


def timeline(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    header = [
        _("Seq"),
        _("Time (claimed / recorded)"),
        _("Kind"),
        _("Number or channel"),
        _("Summary"),
        _("Tags"),
        _("Exhibits"),
        _("Hash"),
    ]
    rows = []
    for row in data.rows:
        claimed = fmt_time(row.occurred) if row.occurred else _("not stated")
        time_cell = f"{claimed}\n{fmt_time(row.recorded)}"
        rows.append(
            [
                str(row.seq),
                time_cell,
                kind_label(row.kind),
                row_party(row),
                row_summary(row),
                ", ".join(tag_label(t) for t in row.tags),
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
    table = kit.grid(header, rows, [0.05, 0.13, 0.08, 0.12, 0.33, 0.12, 0.07, 0.10], long=True)
    night_rows = [
        ("TEXTCOLOR", (1, i + 1), (1, i + 1), NIGHT)
        for i, row in enumerate(data.rows)
        if row.kind in ("call", "message", "contact_report") and is_night(row.when)
    ]
    if night_rows:
        table.setStyle(TableStyle(night_rows))
    return [para(note, kit.styles.small), table]


def statements(kit: LayoutKit, data: DossierData) -> list[Flowable]:
    flow: list[Flowable] = []
    for row in data.rows:
        full = row_summary(row, limit=None)
        shown_in_full = row.kind in ("contact_report", "note") or (
            row.kind in ("message", "call") and len(full) > 280
        )
        if not shown_in_full or not full:
            continue
        title = f"#{row.seq} · {kind_label(row.kind)} · {fmt_time(row.when)}"
        flow.append(KeepTogether([para(title, kit.styles.h3)]))
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
