"""Organizations in the admin, and the mixin every organization-owned admin uses for scoping."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from organizations.models import Membership, Organization
from organizations.scoping import scope_queryset
from organizations.services import membership_set, organization_add


class OrganizationScopedAdminMixin:
    """Limits an admin to the organizations of the user; someone else's object is a 404.

    Django's admin answers a missing object with a redirect and a "doesn't exist" message; an
    outsider must not even learn that, so `get_object` raises Http404 instead.
    """

    #: Path from the model to its organization ("pk" for Organization itself).
    organization_field = "organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return scope_queryset(queryset, request.user, field=self.organization_field)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Model:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No existe o no pertenece a tus organizaciones."))
        return obj


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role"]


class OrganizationAdminForm(ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "nit", "check_digit"]


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    """The NIT and its check digit are checked by the model (DIAN's modulo 11); saving goes
    through `organization_add`, like the command line, so both write the same way."""

    organization_field = "pk"
    form = OrganizationAdminForm
    inlines = [MembershipInline]
    list_display = ["name", "nit_display", "created_at"]
    search_fields = ["name", "nit"]
    ordering = ["name"]

    @admin.display(description=_("NIT"), ordering="nit")
    def nit_display(self, obj: Organization) -> str:
        return obj.nit_display

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None) -> Any:
        # The NIT identifies the organization: a different NIT is a different organization.
        return ["nit", "check_digit"] if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: Organization, form: ModelForm, change: bool
    ) -> None:
        saved, _created = organization_add(nit=f"{obj.nit}-{obj.check_digit}", name=obj.name)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            membership.delete()
        # A row whose user changed stands for a new membership: the old one goes.
        replaced = [m.pk for m, fields in formset.changed_objects if "user" in fields]
        Membership.objects.filter(pk__in=replaced).delete()
        for membership in memberships:
            membership_set(user=membership.user, organization=form.instance, role=membership.role)
