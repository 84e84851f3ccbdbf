"""The analysis page's forms: confirm suggested tags of one record, record a loan payment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from locker.core import labels
from locker.core.kinds import Tag
from locker.core.loan_cost import STATUS, WHAT
from locker.web.forms.cases import MoneyField
from locker.web.forms.fields import DATE_WIDGET


class ConfirmTagsForm(forms.Form):
    seq = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    tags = forms.MultipleChoiceField(
        choices=[(t.value, labels.TAG_LABELS.get(t.value, t.value)) for t in Tag],
        widget=forms.CheckboxSelectMultiple,
    )


class LoanPaymentForm(forms.Form):
    amount_minor = MoneyField(label=_("Amount"), required=True)
    day = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    what = forms.ChoiceField(
        label=_("What for"), choices=[(w, labels.PAYMENT_LABELS[w]) for w in WHAT]
    )
    status = forms.ChoiceField(
        label=_("Paid or demanded"),
        choices=[(s, labels.PAYMENT_STATUS_LABELS[s]) for s in STATUS],
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def clean_amount_minor(self) -> int:
        value = self.cleaned_data.get("amount_minor")
        if not value or value <= 0:
            raise forms.ValidationError(_("Enter an amount above zero."))
        return int(value)
