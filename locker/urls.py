"""The browser pages (everything but /api/ and /admin/)."""

from __future__ import annotations

from django.urls import include, path

from .views import accounts, cases, links, log, timeline

case = "cases/<uuid:case_id>/"
entry = case + "entries/<int:seq>/"

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
    path("accounts/unlock/", accounts.unlock, name="unlock"),
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
    path(entry + "correct/", timeline.correct_entry, name="correct_entry"),
    path(case + "files/<str:sha256>/", timeline.evidence_original, name="evidence_original"),
    path(
        case + "files/<str:sha256>/<slug:size>.jpg",
        timeline.evidence_derived,
        name="evidence_derived",
    ),
    path(case + "links/", links.links, name="links"),
    path(case + "links/<int:link_id>/", links.link_detail, name="link_detail"),
    path(case + "links/<int:link_id>/revoke/", links.link_revoke, name="link_revoke"),
    path("c/", links.statement, name="statement"),
    path("c/thanks/", links.statement_done, name="statement_done"),
    path("c/<str:token>/", links.statement_open, name="statement_open"),
]
