"""Sharing below the API: the access helper for browser requests, the append-only access log
(model and PostgreSQL trigger), client IPs behind a proxy, and the lawyer's desk queries."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.test import RequestFactory

from locker import services
from locker.infra.http import client_ip
from locker.models import AccessLog, Share
from locker.permissions import case_access_or_404, cases_shared_with
from locker.selectors import sharing

from .conftest import is_postgres, needs
from .factories import UserFactory, add_entry, make_case
from .tamper import rewrite_body

pytestmark = pytest.mark.django_db


def shared(case, user, role: str = "viewer", *, accept: bool = True) -> Share:
    share = services.share_case(
        case=case, by=case.owner, grantee=user.username, role=role, site_url="https://el.test"
    ).share
    return services.accept_share(share=share, user=user) if accept else share


def web_request(user, path: str = "/cases/x/", **meta):
    request = RequestFactory().get(path, **meta)
    request.user = user if user is not None else AnonymousUser()
    return request


# The access helper, as the browser pages will call it ---------------------------------------


@pytest.mark.parametrize(
    ("persona", "need", "allowed"),
    [
        ("owner", "read", True),
        ("owner", "annotate", True),
        ("owner", "write", True),
        ("viewer", "read", True),
        ("viewer", "annotate", False),
        ("viewer", "write", False),
        ("reviewer", "read", True),
        ("reviewer", "annotate", True),
        ("reviewer", "write", False),
        ("pending", "read", False),
        ("revoked", "read", False),
        ("stranger", "read", False),
        ("anonymous", "read", False),
    ],
)
def test_who_gets_the_case_for_which_need(persona, need, allowed) -> None:
    case = make_case()
    people = {"owner": case.owner, "anonymous": None, "stranger": UserFactory()}
    people["viewer"] = UserFactory()
    shared(case, people["viewer"], "viewer")
    people["reviewer"] = UserFactory()
    shared(case, people["reviewer"], "reviewer")
    people["pending"] = UserFactory()
    shared(case, people["pending"], "reviewer", accept=False)
    people["revoked"] = UserFactory()
    services.end_share(share=shared(case, people["revoked"], "reviewer"), by=case.owner)

    request = web_request(people[persona])
    if allowed:
        got, role = case_access_or_404(
            request, case.id, need=need, action="download", detail="a.png"
        )
        assert got == case
        assert role == (persona if persona != "owner" else "owner")
    else:
        with pytest.raises(Http404):
            case_access_or_404(request, case.id, need=need)
    logged = list(AccessLog.objects.values_list("action", "detail", "via"))
    if allowed and persona != "owner":
        assert logged == [("download", "a.png", "web")]
    else:
        assert logged == []


def test_bad_case_ids_are_404() -> None:
    user = UserFactory()
    for value in ("nope", "", None, "123"):
        with pytest.raises(Http404):
            case_access_or_404(web_request(user), value)


def test_cases_shared_with_a_user() -> None:
    lawyer = UserFactory()
    a, b, c = make_case(), make_case(), make_case()
    shared(a, lawyer)
    shared(b, lawyer, accept=False)
    services.end_share(share=shared(c, lawyer), by=lawyer)
    make_case(lawyer)  # their own case is not "shared with" them
    assert list(cases_shared_with(lawyer)) == [a]
    assert list(cases_shared_with(AnonymousUser())) == []


# Client IPs --------------------------------------------------------------------------------


def test_forwarded_for_is_ignored_unless_behind_our_proxy(settings) -> None:
    settings.LOCKER_BEHIND_PROXY = False
    request = web_request(None, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert client_ip(request) == "10.0.0.2"


def test_behind_a_proxy_the_hop_it_appended_is_used_not_what_the_client_sent(settings) -> None:
    settings.LOCKER_BEHIND_PROXY = True
    settings.LOCKER_PROXY_COUNT = 1
    forged = "6.6.6.6, 198.51.100.7"  # the client sent 6.6.6.6; our proxy appended the rest
    request = web_request(None, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forged)
    assert client_ip(request) == "198.51.100.7"
    settings.LOCKER_PROXY_COUNT = 2
    assert client_ip(request) == "6.6.6.6"
    settings.LOCKER_PROXY_COUNT = 3  # fewer hops than proxies: fall back to the socket
    assert client_ip(request) == "10.0.0.2"
    garbage = web_request(None, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>")
    settings.LOCKER_PROXY_COUNT = 1
    assert client_ip(garbage) == "10.0.0.2"


# The access log is append-only --------------------------------------------------------------


def _one_log_row() -> AccessLog:
    case = make_case()
    lawyer = UserFactory()
    shared(case, lawyer)
    return services.record_access(case=case, user=lawyer, action="view", ip="192.0.2.1")


def test_access_log_refuses_changes_in_the_model_layer() -> None:
    row = _one_log_row()
    row.detail = "nothing happened"
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        AccessLog.objects.filter(pk=row.pk).update(detail="x")
    with pytest.raises(PermissionError):
        AccessLog.objects.all().delete()
    assert AccessLog.objects.get(pk=row.pk).detail == ""


@needs(is_postgres(), "triggers exist only on PostgreSQL (set DATABASE_URL; CI does)")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE locker_accesslog SET ip = '203.0.113.1' WHERE id = %s",
        "DELETE FROM locker_accesslog WHERE id = %s",
    ],
)
def test_postgresql_trigger_refuses_update_and_delete_of_the_access_log(sql) -> None:
    row = _one_log_row()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [row.pk])
    assert AccessLog.objects.get(pk=row.pk).ip == "192.0.2.1"


# Services ----------------------------------------------------------------------------------


def test_only_the_owner_shares_and_only_the_two_sides_end() -> None:
    case = make_case()
    lawyer, other = UserFactory(), UserFactory()
    with pytest.raises(PermissionError):
        services.share_case(
            case=case, by=lawyer, grantee=other.username, role="viewer", site_url="x"
        )
    share = shared(case, lawyer)
    with pytest.raises(PermissionError):
        services.end_share(share=share, by=other)
    with pytest.raises(PermissionError):
        services.accept_share(share=share, user=other)
    with pytest.raises(PermissionError):
        services.add_annotation(case=case, author=lawyer, text="viewers cannot annotate")
    ended = services.end_share(share=share, by=lawyer)
    assert ended.ended_by == lawyer and ended.status == "ended"
    with pytest.raises(services.InputError):
        services.accept_share(share=share, user=lawyer)
    # Ending twice keeps the first ending.
    assert services.end_share(share=share, by=case.owner).ended_by == lawyer


def test_a_mail_server_failure_keeps_the_share_and_says_so(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(services.sharing, "send_mail", refuse)
    case = make_case()
    result = services.share_case(
        case=case, by=case.owner, grantee="x@example.org", role="viewer", site_url="https://e"
    )
    assert result.email_sent is False
    assert Share.objects.get(pk=result.share.pk).status == "pending"


def test_an_email_with_several_accounts_gets_an_invitation_not_a_guess() -> None:
    UserFactory(email="shared@example.org")
    UserFactory(email="Shared@example.org")
    case = make_case()
    result = services.share_case(
        case=case, by=case.owner, grantee="shared@example.org", role="viewer", site_url="x"
    )
    assert result.share.user is None and result.share.invitations.count() == 1


def test_profile_and_visits_are_upserted() -> None:
    user = UserFactory()
    services.upsert_profile(user=user, name="王律师", organisation="所")
    profile = services.upsert_profile(user=user, name="王律师", jurisdiction="北京")
    assert (profile.organisation, profile.jurisdiction) == ("", "北京")
    assert sharing.display_name(user) == "王律师"
    case = make_case()
    first = services.mark_visited(user=user, case=case)
    second = services.mark_visited(user=user, case=case)
    assert first.pk == second.pk and second.last_visited >= first.last_visited


# The lawyer's desk queries ------------------------------------------------------------------


def test_dashboard_rows_count_kinds_unread_and_chain_status() -> None:
    lawyer = UserFactory()
    quiet = make_case()
    shared(quiet, lawyer)
    case = make_case(borrower_name="张女士", lender="闪电借款")
    add_entry(case, "call", {"number": "95188", "tags": ["night_time"]})
    add_entry(case, "message", {"channel": "sms", "text": "不还钱就上门"})
    shared(case, lawyer, "reviewer")

    (row, other) = sharing.dashboard_rows(lawyer)
    assert row.case_id == str(case.id)  # most recent activity first
    assert (row.client, row.lender, row.role) == ("张女士", "闪电借款", "reviewer")
    assert row.counts_by_kind == {"call": 1, "case_update": 1, "message": 1}
    assert row.entries == 3 and row.unread == 3 and row.chain_ok

    services.mark_visited(user=lawyer, case=case)
    add_entry(case, "note", {"text": "又来了"})
    (row, _) = sharing.dashboard_rows(lawyer)
    assert row.unread == 1 and sharing.unread_count(case, lawyer) == 1

    message = case.entries.get(kind="message")
    rewrite_body(message.pk, {"channel": "sms", "text": "改过了", "tags": []})
    # The status is the badge's, cached per head for a few minutes: a rewrite that keeps the
    # head shows once that expires (the owner's full check and verify_chain see it at once).
    (row, _) = sharing.dashboard_rows(lawyer)
    assert row.chain_ok
    cache.clear()
    (row, _) = sharing.dashboard_rows(lawyer)
    assert not row.chain_ok and row.first_bad_seq == message.seq
    assert other.client == quiet.owner.username


def test_text_search_finds_chinese_in_bodies_on_any_database() -> None:
    case = make_case()
    threat = add_entry(case, "message", {"channel": "sms", "text": "再不还钱就爆你通讯录"})
    call = add_entry(
        case, "call", {"number": "95188", "caller_claims": "法院工作人员", "tags": ["threat"]}
    )
    report = add_entry(case, "contact_report", {"contact_name": "李华", "summary": "说我欠钱"})
    fixed = services.append_entry(
        case=case,
        author="user:1",
        kind="correction",
        body={"corrects_seq": call.seq, "reason": "号码错了", "changes": {"summary": "冒充法院"}},
    ).entry

    def found(**kw) -> list[int]:
        return [e.seq for e in sharing.search_entries(case, **kw)]

    assert found(text="通讯录") == [threat.seq]
    assert found(text="法院") == [fixed.seq, call.seq]
    assert found(text="95188") == [call.seq]
    assert found(text="欠钱 李华") == [report.seq]
    assert found(text="欠钱 法院") == []
    assert found(text="100%") == []
    assert found(tag="threat") == [call.seq]
    assert found(kinds=["message", "contact_report"]) == [report.seq, threat.seq]
    assert found(text="SMS") == []  # member names and values like the channel are not text
    later = datetime(2099, 1, 1, tzinfo=UTC)
    assert found(since=later) == []
    other = make_case()
    add_entry(other, "note", {"text": "通讯录"})
    assert found(text="通讯录") == [threat.seq]


def test_csv_cells_that_look_like_formulas_are_defused() -> None:
    case = make_case()
    reviewer = UserFactory()
    shared(case, reviewer, "reviewer")
    for text in ("=1+1", "+86 138", "-x", "@SUM(A1)", "普通"):
        services.add_annotation(case=case, author=reviewer, text=text)
    out = sharing.annotations_csv(sharing.annotations_for(case))
    assert "'=1+1" in out and "'+86 138" in out and "'-x" in out and "'@SUM(A1)" in out
    assert ",普通" in out


def test_invitation_email_is_in_chinese_and_english_and_names_no_case_facts(settings) -> None:
    from django.core import mail

    settings.LOCKER_INVITATION_DAYS = 7
    case = make_case(title="闪电借款 催收", borrower_name="张女士")
    services.share_case(
        case=case, by=case.owner, grantee="lawyer@example.org", role="reviewer",
        site_url="https://locker.example/",
    )  # fmt: skip
    (message,) = mail.outbox
    assert "与您共享了一个案件" in message.subject and "shared with you" in message.subject
    assert "审阅人" in message.body and "as reviewer" in message.body
    assert "7 天后失效" in message.body and "expires in 7 days" in message.body
    assert message.body.count("https://locker.example/invitations/") == 2
    assert "闪电借款" not in message.body + message.subject
    assert "张女士" not in message.body + message.subject


def test_a_repeated_access_within_the_window_is_one_row(settings) -> None:
    case, lawyer = make_case(), UserFactory()
    poll = {"case": case, "user": lawyer, "action": "export", "detail": "d1", "ip": "10.0.0.1"}
    first = services.record_access(**poll)
    assert services.record_access(**poll) == first
    services.record_access(**{**poll, "action": "download"})
    assert AccessLog.objects.filter(case=case).count() == 2
    settings.LOCKER_ACCESS_LOG_REPEAT_SECONDS = 0
    services.record_access(**poll)
    assert AccessLog.objects.filter(case=case).count() == 3
