from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from locker import services
from locker.models import Case, Entry, Share

User = get_user_model()
PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()


def make_case(owner: Any = None, **facts: Any) -> Case:
    owner = owner or UserFactory()
    facts.setdefault("title", "网贷催收骚扰")
    facts.setdefault("lender", "闪电借款")
    return services.create_case(owner=owner, author=f"user:{owner.pk}", **facts)


def add_entry(
    case: Case, kind: str = "note", body: dict[str, Any] | None = None, **kw: Any
) -> Entry:
    body = body if body is not None else {"text": "催收员又打电话了"}
    return services.append_entry(
        case=case, author=f"user:{case.owner_id}", kind=kind, body=body, **kw
    ).entry


def share_with(case: Case, user: Any, role: str, *, accept: bool = True) -> Share:
    result = services.share_case(
        case=case, by=case.owner, grantee=user.username, role=role, site_url="https://el.test"
    )
    if accept:
        services.accept_share(share=result.share, user=user)
    return result.share


def run_worker_on_derived(case: Case | None = None) -> list[str]:
    """What the Celery worker does after an append commits: the real make_derived task, run
    in this process for each evidence file waiting for its derived copies (pictures, a
    playable recording). Tests whose pages show those copies call this where a deployment's
    worker would have run; the outcomes are returned."""
    from locker.models import EvidenceFile
    from locker.tasks import make_derived

    waiting = EvidenceFile.objects.filter(derived=EvidenceFile.Derived.PENDING)
    if case is not None:
        waiting = waiting.filter(case=case)
    return [make_derived.apply(args=[str(pk)]).get() for pk in waiting.values_list("pk", flat=True)]


def run_worker_on_text(case: Case | None = None) -> list[str]:
    """The worker's reading of the text in pictures (OCR): the real read_text task, run in this
    process for each picture waiting for it; the outcomes are returned."""
    from locker.models import EvidenceText
    from locker.tasks import read_text

    waiting = EvidenceText.objects.filter(state=EvidenceText.State.PENDING)
    if case is not None:
        waiting = waiting.filter(evidence__case=case)
    return [read_text.apply(args=[str(pk)]).get() for pk in waiting.values_list("pk", flat=True)]


def run_worker_on_conduct(case: Case) -> str:
    """The worker's computation of the case page's conduct panel, as it runs once an append
    has committed: the real refresh_case_conduct task, in this process; its outcome."""
    from locker.tasks import refresh_case_conduct

    return str(refresh_case_conduct.apply(args=[str(case.pk)]).get())
