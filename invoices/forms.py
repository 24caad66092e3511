"""Forms of the review steps: they only validate; the services decide and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from invoices.models import ClaimConcept


class ReviewNoteForm(forms.Form):
    """Acknowledgement (030) and goods receipt (032): an optional internal note."""

    note = forms.CharField(
        label=_("Nota"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AcceptForm(ReviewNoteForm):
    """Express acceptance (033): final, so the admin asks for confirmation first."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ClaimForm(forms.Form):
    """Claim (031): the DIAN concept and the reason the supplier will read; final as well."""

    concept = forms.ChoiceField(label=_("Concepto del reclamo"), choices=ClaimConcept.choices)
    reason = forms.CharField(
        label=_("Motivo"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Lo leerá el proveedor cuando el evento se envíe a la DIAN."),
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Escribe el motivo del reclamo."))
        return reason
