"""The JSON API against its own OpenAPI document (issue 12): schemathesis reads
/api/openapi.json from the app, generates requests for every operation, valid and invalid,
sends them in process through the whole Django stack (WSGI, every middleware) as two users,
and checks each answer: never a 5xx, a status code the document lists for the operation, the
content type it lists, and a body that its schema accepts.

The two users are real accounts made through the services: A owns a case with entries that
is shared with B (reviewer) and a private one; B owns a case with entries shared with A
(viewer). Both have their details for complaints; A's shared case has its complaint and the
agent's authorisation, A's download of all data is ready and B's is waiting, and B's first
record is erased (so its seq 3 is the redaction, while A's seq 1 and 3 can be erased). Each
generated request is sent as A or as B (or with whatever credentials schemathesis
generated), and its path ids are swapped, by a Hypothesis choice, for real ids of either
user's cases, shares, tokens, dossiers, downloads and entries, so the cross-user answers (B
asking for A's private case, A ending B's share) are checked against the document too.

Every request runs inside a savepoint that is rolled back afterwards: each one meets the same
world, whatever ran before it, and the run is the same each time (fixed seed, derandomized,
a bounded number of examples per operation)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from locker import services, tasks
from locker.models import Dossier
from locker.services import complainant as complainant_services
from locker.services import data_exports as export_services
from locker.services import dossiers as dossier_services

from ..factories import UserFactory, add_entry, make_case, share_with
from ..ui_helpers import png_bytes

# Deterministic and bounded: the same requests every run, about a minute on a busy machine.
MAX_EXAMPLES = 25
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261112,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "mode": "all",
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
        },
    }
)

CALLERS = ("a", "b", "generated")
# For each path parameter, the real objects a request may aim at, or "generated" (keep the
# value schemathesis made up: mostly ids that name nothing).
TARGETS: dict[str, tuple[str, ...]] = {
    "case_id": ("case_a", "case_a_private", "case_b", "generated"),
    "share_id": ("share_a_to_b", "share_b_to_a", "generated"),
    "token_id": ("spare_token_a", "spare_token_b", "generated"),
    "dossier_id": ("dossier_a", "dossier_a_private", "generated"),
    "export_id": ("export_a_ready", "export_b_waiting", "generated"),
    # On A's case: a note and a message with a file, both erasable; on B's: the note erased
    # already (409) and the redaction entry that records it (422).
    "seq": ("seq_note", "seq_third", "generated"),
    # A capture device of A's case, and one of A's private case.
    "device_id": ("device_a", "device_a_private", "generated"),
}


@dataclass
class World:
    tokens: dict[str, str]
    ids: dict[str, str]

    def aim(self, case: Any, choices: dict[str, str]) -> None:
        for name, target in choices.items():
            if target != "generated" and name in (case.path_parameters or {}):
                case.path_parameters[name] = self.ids[target]

    def headers(self, caller: str) -> dict[str, str] | None:
        if caller == "generated":
            return None
        return {"Authorization": f"Bearer {self.tokens[caller]}"}


def _details_for_complaints(user: Any, case: Any | None, name: str, phone: str) -> None:
    complainant_services.save_complainant_details(
        user=user,
        legal_name=name,
        id_type="resident_id",
        id_number="11010519491231002X",
        phone=phone,
        email="me@example.org",
        address="北京市朝阳区幸福路1号",
    )
    if case is not None:
        complainant_services.save_case_complaint(
            case=case,
            receiving_numbers=[phone],
            typed_signature=True,
            agent_name="赵律师",
            agent_relationship="律所",
            agent_contact="zhao@example.org",
        )
        complainant_services.store_authorisation(case=case, upload=io.BytesIO(png_bytes()))


def _queued_dossier(case: Any, user: Any) -> Dossier:
    return dossier_services.request_dossier(
        case=case, user=user, template="court", language="en", verify_url="https://el.test/verify"
    )


def _device(case: Any, user: Any) -> str:
    return services.create_device(case=case, user=user, name="phone")[0].public_id


@pytest.fixture
def world(db: None) -> World:
    user_a = UserFactory(username="schema_a")
    user_b = UserFactory(username="schema_b")
    case_a = make_case(user_a, title="闪电借款")
    case_a_private = make_case(user_a, title="私人")
    case_b = make_case(user_b, title="快贷")
    notes = [add_entry(case) for case in (case_a, case_b)]
    for case in (case_a, case_b):
        add_entry(case, kind="call", body={"direction": "incoming", "number": "13800000000"})
    third = services.append_entry(
        case=case_a,
        author=f"user:{user_a.pk}",
        kind="message",
        body={"channel": "sms", "text": "不还钱就爆你通讯录"},
        uploads=[services.Upload(name="shot.png", stream=io.BytesIO(png_bytes()))],
    ).entry
    erased = services.erase_entry(
        case=case_b, seq=notes[1].seq, user=user_b, author=f"user:{user_b.pk}"
    )
    assert notes[0].seq == notes[1].seq and erased.redaction.seq == third.seq
    _details_for_complaints(user_a, case_a, "王晓芳", "13912345678")
    _details_for_complaints(user_b, None, "李明", "13700002222")
    export_a = export_services.request_data_export(user=user_a)
    assert tasks.build_data_export.apply(args=[str(export_a.pk)]).get() == "ready"
    share_a_to_b = share_with(case_a, user_b, "reviewer")
    share_b_to_a = share_with(case_b, user_a, "viewer")
    tokens = {
        "a": services.issue_token(user=user_a, name="schema")[1],
        "b": services.issue_token(user=user_b, name="schema")[1],
    }
    ids = {
        "case_a": str(case_a.id),
        "case_a_private": str(case_a_private.id),
        "case_b": str(case_b.id),
        "share_a_to_b": str(share_a_to_b.pk),
        "share_b_to_a": str(share_b_to_a.pk),
        "spare_token_a": str(services.issue_token(user=user_a, name="spare")[0].pk),
        "spare_token_b": str(services.issue_token(user=user_b, name="spare")[0].pk),
        "dossier_a": str(_queued_dossier(case_a, user_a).id),
        "dossier_a_private": str(_queued_dossier(case_a_private, user_a).id),
        "export_a_ready": str(export_a.id),
        "export_b_waiting": str(export_services.request_data_export(user=user_b).id),
        "seq_note": str(notes[0].seq),
        "seq_third": str(third.seq),
        "device_a": _device(case_a, user_a),
        "device_a_private": _device(case_a_private, user_a),
    }
    return World(tokens=tokens, ids=ids)


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    # Django's test client does the same: a request's end must not close the test's database
    # connection (on PostgreSQL that would end the transaction every test runs in).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# Read from the app itself when the module is collected: the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler(), config=CONFIG)


@schema.parametrize()
# The world is made once per operation on purpose: every request runs in a savepoint that is
# rolled back, so it meets the world unchanged.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@schema.given(
    caller=st.sampled_from(CALLERS),
    targets=st.fixed_dictionaries({name: st.sampled_from(t) for name, t in TARGETS.items()}),
)
def test_every_answer_is_one_the_api_documents(
    case: Any, caller: str, targets: dict[str, str], world: World, in_process_requests: None
) -> None:
    world.aim(case, targets)
    with transaction.atomic():
        try:
            case.call_and_validate(headers=world.headers(caller))
        finally:
            transaction.set_rollback(True)


CROSS_USER_READS = [
    operation
    for operation in (result.ok() for result in schema.get_all_operations())
    if operation.method in ("get", "delete") and "{case_id}" in operation.path
]


@pytest.mark.parametrize("operation", CROSS_USER_READS, ids=lambda op: op.label)
def test_a_case_of_someone_else_is_a_documented_404(
    operation: Any, world: World, in_process_requests: None
) -> None:
    """B asking for A's private case by its real id gets the same 404 as for no case at all,
    and the document says so, on every case route that takes no body."""
    answers = []
    for case_id in (world.ids["case_a_private"], "00000000-0000-4000-8000-000000000000"):
        path_parameters = {"case_id": case_id}
        if "{share_id}" in operation.path:
            path_parameters["share_id"] = world.ids["share_a_to_b"]
        if "{device_id}" in operation.path:
            path_parameters["device_id"] = world.ids["device_a_private"]
        case = operation.Case(path_parameters=path_parameters)
        with transaction.atomic():
            try:
                response = case.call_and_validate(headers=world.headers("b"))
            finally:
                transaction.set_rollback(True)
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == (404, {"detail": "Not Found"})
