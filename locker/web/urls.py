"""The browser pages (everything but /api/ and /admin/)."""

from __future__ import annotations

from django.urls import include, path

from locker.web.views import (
    accounts,
    cases,
    contact_links,
    desk,
    dossiers,
    health,
    invitations,
    keys,
    log,
    receipts,
    review,
    security,
    sharing,
    timeline,
    verify,
)

case = "cases/<uuid:case_id>/"
entry = case + "entries/<int:seq>/"
dossier = case + "dossiers/<uuid:dossier_id>/"

urlpatterns = [
    path("", accounts.home, name="home"),
    path("manifest.webmanifest", accounts.manifest, name="manifest"),
    path("exit/", accounts.quick_exit, name="quick_exit"),
    path("i18n/setlang/", accounts.set_language, name="set_language"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/login/", accounts.RateLimitedLoginView.as_view(), name="login"),
    path(
        "accounts/password_reset/",
        accounts.RateLimitedPasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/preferences/", accounts.preferences, name="preferences"),
    path("accounts/email/", accounts.email_change, name="email_change"),
    path("accounts/email/confirm/", accounts.email_confirm, name="email_confirm"),
    path(
        "accounts/email/confirm/<str:token>/",
        accounts.email_confirm_open,
        name="email_confirm_open",
    ),
    path("accounts/unlock/", accounts.unlock, name="unlock"),
    path("accounts/security/", security.security_events, name="security_events"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("cases/", cases.case_list, name="case_list"),
    path("cases/new/", cases.case_create, name="case_create"),
    path(case, cases.case_detail, name="case_detail"),
    path(case + "edit/", cases.case_edit, name="case_edit"),
    path(case + "check/", cases.case_check, name="case_check"),
    path(case + "log/", log.quick_log, name="quick_log"),
    path(case + "log/<slug:form_name>/", log.log_entry, name="log_entry"),
    path(case + "timeline/", timeline.timeline_page, name="timeline"),
    path(entry, timeline.entry_detail, name="entry_detail"),
    path(entry + "receipt/", log.receipt, name="receipt"),
    path(entry + "receipt.json", log.receipt_json, name="receipt_json"),
    path(case + "receipts/", receipts.kept_receipts, name="kept_receipts"),
    path(entry + "correct/", timeline.correct_entry, name="correct_entry"),
    path(case + "files/<str:sha256>/", timeline.evidence_original, name="evidence_original"),
    path(
        case + "files/<str:sha256>/<slug:size>.jpg",
        timeline.evidence_derived,
        name="evidence_derived",
    ),
    path(case + "links/", contact_links.links, name="links"),
    path(case + "links/<int:link_id>/", contact_links.link_detail, name="link_detail"),
    path(case + "links/<int:link_id>/revoke/", contact_links.link_revoke, name="link_revoke"),
    path(case + "review/", review.review, name="review"),
    path(case + "review/notes/", review.annotation_add, name="annotation_add"),
    path(case + "review/notes.<str:fmt>", review.annotation_export, name="annotation_export"),
    path(case + "export.zip", review.export_zip, name="export_zip"),
    path(case + "sharing/", sharing.shares, name="shares"),
    path(case + "sharing/<int:share_id>/end/", sharing.share_end, name="share_end"),
    path(case + "seen/", sharing.access_log, name="access_log"),
    # sharing.SHARED_CASES_PATH and sharing.INVITATION_PATH: the addresses emails link to.
    path("shared/", desk.shared, name="shared"),
    path("shared/profile/", desk.professional_profile, name="professional_profile"),
    path("shared/<int:share_id>/accept/", desk.share_accept, name="share_accept"),
    path("shared/<int:share_id>/leave/", desk.share_leave, name="share_leave"),
    path("invitations/", invitations.invitation, name="invitation"),
    path("invitations/<str:token>/", invitations.invitation_open, name="invitation_open"),
    path("c/", contact_links.statement, name="statement"),
    path("c/thanks/", contact_links.statement_done, name="statement_done"),
    path("c/<str:token>/", contact_links.statement_open, name="statement_open"),
    path(case + "dossiers/", dossiers.export, name="dossier_export"),
    path(dossier, dossiers.detail, name="dossier_detail"),
    path(dossier + "status", dossiers.status, name="dossier_status"),
    path(dossier + "pdf", dossiers.download, name="dossier_pdf"),
    path("verify", verify.verify_page, name="verify"),
    path("keys", keys.keys_page, name="keys"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
