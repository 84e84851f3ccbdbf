"""The CFPB complaint form's own issue / sub-issue values for debt collection, and the one
table that maps the chain's kinds, tags and Reg F findings to them.

The values are the form's, verbatim (English; the form offers no other words, so the zh
dossier prints them as they are and adds a translation in brackets). Source: the Issue /
Sub-issue values of "Debt collection" complaints in the CFPB Consumer Complaint Database
(consumerfinance.gov/data-research/consumer-complaints/; the values the consumer picks on
the intake form, OMB No. 3170-0011, "What type of problem are you having?"), as found in
2025-2026 records, e.g. complaint 11575920 (2025-01-16: "Threatened to contact someone or
share information improperly" / "Contacted your employer"). Since 2017 the form's issue
"Threatened to contact someone or share information improperly" replaces the older
"Improper contact or sharing of info"; "Electronic communications" holds the same
sub-issues for texts and e-mails as "Communication tactics" does for calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as N_

from locker.core import regf, stats
from locker.core.stats import Event

COMMUNICATION = N_("Communication tactics")
ELECTRONIC = N_("Electronic communications")
NEGATIVE_ACTION = N_("Took or threatened to take negative or legal action")
FALSE_STATEMENTS = N_("False statements or representation")
SHARING = N_("Threatened to contact someone or share information improperly")

SHARING_TAGS = {"contact_list_blast", "public_shaming", "third_party_contact", "workplace_contact"}


@dataclass(frozen=True)
class FormValue:
    issue: str
    sub_issue: str  # "": the form's sub-issue is optional and no record says which one
    records: Callable[[Sequence[Event], regf.Findings], list[int]]
    # Its records are (or include) a Reg F finding's, whose count the narrative states.
    in_findings: bool = False


def _tags(event: Event) -> set[str]:
    tags = event.body.get("tags")
    return {str(t) for t in tags} if isinstance(tags, list) else set()


def _of(kind: str, *tags: str) -> Callable[[Sequence[Event], regf.Findings], list[int]]:
    """The collector's contacts of `kind` carrying any of `tags`."""
    wanted = set(tags)
    return lambda events, _f: [
        e.seq for e in regf.collector_contacts(events) if e.kind == kind and wanted & _tags(e)
    ]


def _night(kind: str) -> Callable[[Sequence[Event], regf.Findings], list[int]]:
    return lambda events, _f: [e.seq for e in stats.night_contact_events(events) if e.kind == kind]


def _frequent_calls(events: Sequence[Event], found: regf.Findings) -> list[int]:
    tagged = _of("call", "excessive_frequency")(events, found)
    return sorted(set(found.over_limit_calls) | set(tagged))


def _after_stop(_events: Sequence[Event], found: regf.Findings) -> list[int]:
    return list(found.cease.contacts_after) if found.cease else []


def _third_parties(_events: Sequence[Event], found: regf.Findings) -> list[int]:
    return list(found.third_parties)


def _employer(_events: Sequence[Event], found: regf.Findings) -> list[int]:
    return list(found.workplace)


# The one mapping of kinds, tags and findings to the form's values, in the form's order.
FORM_VALUES: tuple[FormValue, ...] = (
    FormValue(COMMUNICATION, N_("Frequent or repeated calls"), _frequent_calls, in_findings=True),
    FormValue(
        COMMUNICATION,
        N_("You told them to stop contacting you, but they keep trying"),
        _after_stop,
        in_findings=True,
    ),
    FormValue(
        COMMUNICATION, N_("Used obscene, profane, or other abusive language"), _of("call", "insult")
    ),
    FormValue(
        COMMUNICATION, N_("Called before 8am or after 9pm"), _night("call"), in_findings=True
    ),
    FormValue(
        ELECTRONIC, N_("Frequent or repeated messages"), _of("message", "excessive_frequency")
    ),
    FormValue(
        ELECTRONIC, N_("Used obscene, profane, or other abusive language"), _of("message", "insult")
    ),
    FormValue(
        ELECTRONIC, N_("Contacted before 8am or after 9pm"), _night("message"), in_findings=True
    ),
    FormValue(
        NEGATIVE_ACTION,
        "",
        lambda events, found: sorted(
            set(_of("call", "threat")(events, found)) | set(_of("message", "threat")(events, found))
        ),
    ),
    FormValue(
        FALSE_STATEMENTS,
        N_("Impersonated attorney, law enforcement, or government official"),
        lambda events, found: sorted(
            set(_of("call", "impersonation")(events, found))
            | set(_of("message", "impersonation")(events, found))
        ),
    ),
    FormValue(
        FALSE_STATEMENTS,
        "",
        lambda events, found: sorted(
            set(_of("call", "fake_legal_document")(events, found))
            | set(_of("message", "fake_legal_document")(events, found))
        ),
    ),
    FormValue(
        SHARING, N_("Talked to a third-party about your debt"), _third_parties, in_findings=True
    ),
    FormValue(SHARING, N_("Contacted your employer"), _employer, in_findings=True),
    # The borrower's own calls and messages threatening to tell others: the form's issue
    # says "threatened"; no sub-issue names a threat, so none is chosen.
    FormValue(
        SHARING,
        "",
        lambda events, found: sorted(
            set(_of("call", *SHARING_TAGS)(events, found))
            | set(_of("message", *SHARING_TAGS)(events, found))
        ),
    ),
)


def form_text(value: str) -> str:
    """A form value as the dossier prints it: verbatim, with a translation in brackets in
    a language other than English (the form itself is in English)."""
    if not value:
        return "—"
    translated = gettext(value)
    return value if translated == value else f"{value} ({translated})"


@dataclass(frozen=True)
class FormChoice:
    issue: str
    sub_issue: str
    seqs: list[int]
    in_findings: bool = False


def form_choices(events: Sequence[Event], found: regf.Findings) -> list[FormChoice]:
    """The form values the records support, each with its supporting entries."""
    choices = []
    for value in FORM_VALUES:
        seqs = value.records(events, found)
        if seqs:
            choices.append(FormChoice(value.issue, value.sub_issue, seqs, value.in_findings))
    return choices
