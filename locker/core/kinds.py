"""The kinds of record and the members their bodies may carry. Unknown members are refused;
every value must be JSON the chain can hash (no floats)."""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
)

from locker.core import chain
from locker.core.phones import normalise_phone

ShortText = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
# The longest free text a record holds; longer is refused whole, never cut (issue 16).
LONG_TEXT_MAX = 20000
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_MAX)]
# Free text: caller ID shows masked or non-numeric numbers ("95***", "未知号码").
PhoneNumber = Annotated[str, StringConstraints(max_length=40, strip_whitespace=True)]
# Our extension (docs/chain-format.md, "Numbers"): the number in E.164 (+8613800138000) beside
# the one kept as typed, when it has that form (locker/core/phones.py). Optional: entries
# written before it and numbers without one (95588, 138****8000) carry none.
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]


class Tag(StrEnum):
    THREAT = "threat"
    INSULT = "insult"
    IMPERSONATION = "impersonation"
    FAKE_LEGAL_DOCUMENT = "fake_legal_document"
    THIRD_PARTY_CONTACT = "third_party_contact"
    CONTACT_LIST_BLAST = "contact_list_blast"
    NIGHT_TIME = "night_time"
    EXCESSIVE_FREQUENCY = "excessive_frequency"
    PUBLIC_SHAMING = "public_shaming"
    WORKPLACE_CONTACT = "workplace_contact"
    # The borrower asked the collector to stop contacting them, in this call or message
    # (Reg F 12 CFR 1006.6(c)); what followed is in the CFPB dossier's findings.
    ASKED_TO_STOP = "asked_to_stop"
    # They asked for the money to go to a person or account unrelated to the lender (a
    # private bank card, a payment code): a sign of fraud regulators ask about.
    PAY_UNRELATED_PARTY = "pay_unrelated_party"
    OTHER = "other"


Tags = Annotated[list[Tag], Field(default_factory=list, max_length=len(Tag))]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class CallBody(Body):
    direction: Literal["incoming", "outgoing", "missed"] = "incoming"
    number: PhoneNumber = ""
    number_e164: E164 | None = None
    duration_s: Annotated[StrictInt, Field(ge=0, le=86400)] | None = None
    caller_claims: ShortText = ""
    summary: LongText = ""
    tags: Tags


# Whether the borrower received a message or sent it (an extension, docs/chain-format.md,
# "A message's direction"). Stored like a call's direction, the default filled in; entries
# written before it carry none and read as received (sent_by_borrower below).
MessageDirection = Literal["incoming", "outgoing"]


class MessageBody(Body):
    channel: Literal["sms", "wechat", "qq", "app", "email", "other"]
    direction: MessageDirection = "incoming"
    sender: ShortText = ""
    sender_e164: E164 | None = None
    text: LongText = ""
    tags: Tags


class ContactReportBody(Body):
    contact_name: ShortText
    relation: ShortText = ""
    channel: Literal["call", "sms", "wechat", "qq", "app", "email", "in_person", "other"] = "call"
    summary: LongText = ""
    tags: Tags


class NoteBody(Body):
    text: Annotated[str, StringConstraints(min_length=1, max_length=LONG_TEXT_MAX)]


class CorrectionBody(Body):
    corrects_seq: Annotated[StrictInt, Field(ge=1)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    changes: dict[str, Any] = Field(default_factory=dict)
    # An extension (docs/chain-format.md, "Confirming suggested tags"): set when the owner
    # confirmed tags the conduct analysis suggested; the changes then carry only `tags`.
    origin: Literal["suggested_tags"] | None = None


# A date as the chain writes one: ISO 8601, a calendar day (no time, no zone).
IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


# What a loan payment is for, and whether it was paid or only demanded (the loan-cost audit,
# locker/core/loan_cost.py, and the payment form take their choices from these).
PaymentWhat = Literal["repayment", "fee", "penalty", "extension_fee", "other"]
PaymentStatus = Literal["paid", "demanded"]


class LoanPaymentBody(Body):
    """Money the borrower paid, or is asked to pay, on the loan (docs/analysis.md): the
    loan-cost audit's dated cash flows. Amounts in minor units, as every amount here."""

    amount_minor: Annotated[StrictInt, Field(ge=1, le=chain.MAX_SAFE_INTEGER)]
    date: IsoDate
    what: PaymentWhat = "repayment"
    status: PaymentStatus = "paid"
    note: ShortText = ""

    @field_validator("date")
    @classmethod
    def _real_day(cls, value: str) -> str:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a calendar date") from None
        return value


class CaseUpdateBody(Body):
    changes: dict[str, Any]
    previous: dict[str, Any] = Field(default_factory=dict)


class RedactionReason(StrEnum):
    """Why the owner erased a record's content, as a category only: free text could repeat
    what was erased."""

    THIRD_PARTY_DATA = "third_party_data"  # a relative's or contact's personal data
    CONTACT_ASKED = "contact_asked"  # the person it is about asked for it to go
    RECORDED_BY_MISTAKE = "recorded_by_mistake"
    OTHER = "other"


class RedactionBody(Body):
    """The trace an erasure leaves in the chain (docs/chain-format.md, "Erasing a record's
    content"): which entry's content was erased and, optionally, why. Who and when are the
    redaction entry's own author and recorded_at. Never anything of what was removed."""

    erased_seq: Annotated[StrictInt, Field(ge=1)]
    reason: RedactionReason | None = None


BODY_MODELS: dict[str, type[Body]] = {
    "call": CallBody,
    "message": MessageBody,
    "contact_report": ContactReportBody,
    "note": NoteBody,
    "correction": CorrectionBody,
    "case_update": CaseUpdateBody,
    "redaction": RedactionBody,
    "loan_payment": LoanPaymentBody,
}
# What a call must carry at least one of (or a recording): the direction alone is a default
# and says nothing, so a call with none of these is a tap on Save, not a record (issue 16).
CALL_FACTS = ("number", "duration_s", "caller_claims", "summary", "tags")
EMPTY_CALL = _(
    "Nothing to record yet: add at least one fact about the call (their number, what happened, "
    "what they said, how long it lasted) or a recording."
)


def sent_by_borrower(kind: str, body: Any) -> bool:
    """Whether a call or message went out from the borrower (an outgoing call, a message
    they sent): their own words, no contact they suffered. A body without a direction (a
    message written before the member existed) came in."""
    return (
        kind in ("call", "message")
        and isinstance(body, dict)
        and body.get("direction") == "outgoing"
    )


def is_empty_call(body: dict[str, Any]) -> bool:
    """Whether a cleaned call body carries none of CALL_FACTS."""
    return all(body.get(name) in (None, "", []) for name in CALL_FACTS)


# The member holding a number as typed, per kind; its E.164 form rides beside it in
# "<member>_e164" (docs/chain-format.md, "Numbers").
NUMBER_MEMBERS = {"call": "number", "message": "sender"}
NOT_THE_E164 = _(
    "{member} is {sent}, which is not the E.164 form of {typed} ({expected}); leave it out "
    "and the server records it"
)
NO_E164 = _("it has none")


def _check_e164(member: str, typed: str, sent: Any) -> str | None:
    expected = normalise_phone(typed).e164
    if sent is not None and sent != expected:
        raise BodyError(
            format_lazy(
                NOT_THE_E164,
                member=f"{member}_e164",
                sent=repr(sent),
                typed=repr(typed),
                expected=expected or NO_E164,
            )
        )
    return expected


def with_e164(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A cleaned call or message body with the E.164 form of its number beside it, when the
    number has one (locker/core/phones.py): what every way of recording one stores (the log
    forms, capture devices, the API), so the member never depends on who sent the record.
    One sent that is not that form is refused. Other kinds are returned as they are."""
    member = NUMBER_MEMBERS.get(kind)
    if member is None:
        return body
    filled = {k: v for k, v in body.items() if k != f"{member}_e164"}
    e164 = _check_e164(member, str(body.get(member) or ""), body.get(f"{member}_e164"))
    if e164:
        filled[f"{member}_e164"] = e164
    return filled


def changes_with_e164(kind: str, before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A correction's changes to a `kind` entry whose body was `before`: a changed number
    takes its new E.164 form along (None: it has none any more), left out when that is what
    the entry already carries. A form sent that is not the number's is refused."""
    member = NUMBER_MEMBERS.get(kind)
    if member is None:
        return changes
    name = f"{member}_e164"
    if member not in changes and name not in changes:
        return changes
    typed = str(changes.get(member, before.get(member)) or "")
    e164 = _check_e164(member, typed, changes.get(name))
    filled = {k: v for k, v in changes.items() if k != name}
    if e164 != before.get(name):
        filled[name] = e164
    return filled


# case_update entries are written by the case-facts service and redaction entries by the
# erasure service, never appended directly.
APPENDABLE_KINDS = ("call", "message", "contact_report", "note", "correction", "loan_payment")
# Whose content the owner may erase: what people record. A case_update's facts live on the
# case itself (changed on its edit page), and a redaction is the trace an erasure leaves.
ERASABLE_KINDS = APPENDABLE_KINDS


class BodyError(ValueError):
    """The body is refused; the message is lazy (put into words where it is shown)."""


def _describe(error: ValidationError) -> str | Promise:
    # Pydantic's own messages stay English; the members' names are never translated.
    parts: list[str | Promise] = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "body"
        if item["type"] == "extra_forbidden":
            parts.append(format_lazy(_("{path}: unknown member"), path=f"body.{where}"))
        else:
            parts.append(f"body.{where}: {item['msg']}")
    return format_lazy("; ".join("{}" for _part in parts), *parts)


def clean_body(kind: str, body: Any) -> dict[str, Any]:
    """Validate a body for its kind; return the body to store (defaults filled in)."""
    model = BODY_MODELS.get(kind)
    if model is None:
        raise BodyError(
            format_lazy(
                _("unknown kind {kind}; expected one of {kinds}"),
                kind=repr(kind),
                kinds=", ".join(BODY_MODELS),
            )
        )
    if not isinstance(body, dict):
        raise BodyError(_("body must be a JSON object"))
    try:
        chain.check_json_value(body, "body")
    except RecursionError:
        raise BodyError(_("body is nested too deeply")) from None
    except chain.FormatError as exc:
        raise BodyError(str(exc)) from exc
    try:
        cleaned = model.model_validate(body)
    except ValidationError as exc:
        raise BodyError(_describe(exc)) from exc
    result = cleaned.model_dump(mode="json", exclude_none=True)
    _check_nested_names(result, "body")
    return result


def _check_nested_names(value: Any, path: str) -> None:
    # PostgreSQL cannot store U+0000 in text or jsonb; refuse it here with a clear message.
    if isinstance(value, str) and "\x00" in value:
        raise BodyError(
            format_lazy(_("{path}: text must not contain the NUL character (U+0000)"), path=path)
        )
    if isinstance(value, dict):
        for name, item in value.items():
            if not chain.is_snake_case(name):
                raise BodyError(
                    format_lazy(
                        _("{path}: member name {name} is not ASCII snake_case"),
                        path=path,
                        name=repr(name),
                    )
                )
            _check_nested_names(item, f"{path}.{name}")
    elif isinstance(value, list):
        for item in value:
            _check_nested_names(item, path)
