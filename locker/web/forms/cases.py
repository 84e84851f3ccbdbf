"""The case form: a case's facts as the owner types them. Money typed as yuan becomes integer
fen (through Decimal, never float)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from locker.core.money import format_minor
from locker.models import Case
from locker.web.forms.fields import DATE_WIDGET

MONEY_RE = re.compile(r"^\d{1,13}(\.\d{1,2})?$")


class MoneyField(forms.CharField):
    """An amount typed in major units ("5000", "3,500.50") stored as integer minor units."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        text = str(super().clean(value) or "")
        text = re.sub(r"[\s,，¥￥$]", "", text).replace("。", ".")
        if not text:
            return None
        if not MONEY_RE.match(text):
            raise forms.ValidationError(
                _("Enter an amount like 5000 or 3500.50 (at most two decimals).")
            )
        try:
            minor = (Decimal(text) * 100).to_integral_exact()
        except InvalidOperation as exc:
            raise forms.ValidationError(_("Enter an amount like 5000 or 3500.50.")) from exc
        return int(minor)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return format_minor(value, grouping=False)
        return value


RATE_RE = re.compile(r"^\d{1,5}(\.\d{1,2})?$")


class RateField(forms.CharField):
    """An annual rate typed in percent ("18", "18.25") stored as integer basis points."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        text = re.sub(r"[\s%％]", "", str(super().clean(value) or "")).replace("。", ".")
        if not text:
            return None
        if not RATE_RE.match(text):
            raise forms.ValidationError(_("Enter a rate like 18 or 18.25 (percent a year)."))
        return int((Decimal(text) * 100).to_integral_exact())

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{Decimal(value) / 100:f}"
        return value


class CaseForm(forms.Form):
    title = forms.CharField(
        label=_("Name for this case"),
        max_length=200,
        help_text=_("Only you see it. Page titles never show it."),
    )
    lender = forms.CharField(label=_("Lender or platform"), max_length=200, required=False)
    lending_app = forms.CharField(label=_("Lending app"), max_length=200, required=False)
    funding_institution = forms.CharField(
        label=_("Funding institution (资金方), if known"),
        max_length=200,
        required=False,
        help_text=_("The bank or finance company named as lender in the app's loan contract."),
    )
    borrower_name = forms.CharField(
        label=_("Borrower's name as shown in documents"), max_length=200, required=False
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=[
            ("CNY", "CNY ¥"),
            ("HKD", "HKD"),
            ("TWD", "TWD"),
            ("USD", "USD $"),
            ("EUR", "EUR"),
            ("GBP", "GBP"),
        ],
        initial="CNY",
    )
    principal_minor = MoneyField(label=_("Loan amount on the contract"))
    received_minor = MoneyField(
        label=_("Amount actually received"),
        help_text=_("After fees taken up front (砍头息), if any."),
    )
    demanded_minor = MoneyField(label=_("Amount the collectors demand"))
    loan_start = forms.DateField(label=_("Loan start date"), required=False, widget=DATE_WIDGET)
    loan_due = forms.DateField(label=_("Loan due date"), required=False, widget=DATE_WIDGET)
    stated_rate_bp = RateField(
        label=_("Annual rate the contract states (%)"),
        help_text=_("As the contract writes it; a daily rate of 0.05 % is 18.25 % a year."),
    )
    collector_agency = forms.CharField(
        label=_("Collection agency, if known"), max_length=200, required=False
    )
    staff_involved = forms.CharField(
        label=_("Names of staff or collectors involved, if known"),
        max_length=500,
        required=False,
        help_text=_("As they introduced themselves, e.g. 李经理 (工号 0231)."),
    )

    @classmethod
    def for_case(cls, case: Case, data: Any = None) -> CaseForm:
        return cls(data=data, initial={name: getattr(case, name) for name in Case.FACT_FIELDS})

    def facts(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in Case.FACT_FIELDS}
