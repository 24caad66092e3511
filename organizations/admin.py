"""Organizations in the admin, and what every admin page asks before it shows or does anything.

`OrganizationScopedAdminMixin` puts every organization-owned admin behind
organizations.scoping; every other admin on the site (users, groups, background tasks) is for
superusers only (`restrict_other_admins`, run once the admin modules are loaded).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from organizations.models import Membership, Organization
from organizations.nit import split_nit
from organizations.roles import Action
from organizations.scoping import allows, allows_anywhere, allows_everything, scope_queryset
from organizations.services import membership_set, nit_read, organization_add


class OrganizationScopedAdminMixin:
    """Every page of an organization-owned admin, decided by the role in that organization.

    The list holds the rows the user's roles let him read (`view_action`). An object outside
    them is a 404 when the user may not see its organization at all, and a 403 when his role
    there does not allow reading it (Django's admin would redirect with a "doesn't exist"
    message instead). Adding, changing and deleting need their own actions; without one the
    admin is read-only, superusers included.
    """

    #: Path from the model to its organization ("pk" for Organization itself).
    organization_field = "organization"
    view_action: Action
    add_action: Action | None = None
    change_action: Action | None = None
    delete_action: Action | None = None
    #: Relations the object's page reads, fetched with the object.
    object_select_related: tuple[str, ...] = ()

    def organization_id_of(self, obj: Model) -> int:
        if self.organization_field == "pk":
            return obj.pk
        *path, last = self.organization_field.split("__")
        for step in path:
            obj = getattr(obj, step)
        return getattr(obj, f"{last}_id")

    def allows(self, request: HttpRequest, action: Action | None, obj: Model | None = None) -> bool:
        """`action` on `obj` by the user's role in its organization; without `obj`, in any."""
        if action is None:
            return False
        if obj is None:
            return allows_anywhere(request.user, action)
        return allows(request.user, action, self.organization_id_of(obj))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.allows(request, self.view_action)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.allows(request, self.view_action, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.allows(request, self.add_action)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.allows(request, self.change_action, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.allows(request, self.delete_action, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return scope_queryset(
            queryset, request.user, action=self.view_action, field=self.organization_field
        )

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Model:
        opts = self.model._meta
        field = opts.pk if from_field is None else opts.get_field(from_field)
        try:
            lookup = {field.name: field.to_python(object_id)}
        except (ValidationError, ValueError):
            raise Http404(_("No existe o no pertenece a tus organizaciones.")) from None
        queryset = self.get_queryset(request).select_related(*self.object_select_related)
        try:
            return queryset.get(**lookup)
        except self.model.DoesNotExist:
            pass
        elsewhere = scope_queryset(
            self.model._default_manager.filter(**lookup),
            request.user,
            action=Action.ORGANIZATION_VIEW,
            field=self.organization_field,
        )
        if elsewhere.exists():
            raise PermissionDenied
        raise Http404(_("No existe o no pertenece a tus organizaciones."))


class SuperuserOnlyAdminMixin:
    """Another app's admin: superusers only, whatever Django permissions an account holds.

    Django's permissions are not how this project decides (see organizations.scoping), so a
    permission given by hand must not open the users, the groups or the background tasks.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _superuser(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _superuser(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request) and super().has_delete_permission(request, obj)


def _superuser(request: HttpRequest) -> bool:
    return allows_everything(request.user)


def restrict_other_admins(site: AdminSite) -> None:
    """Put every admin not scoped by organization behind SuperuserOnlyAdminMixin.

    Run when the apps are ready, after the admin modules registered their models, so that an
    admin added later by a package (not only django-q2's and auth's) is covered as well.
    """
    for model in apps.get_models():
        if not site.is_registered(model):
            continue
        model_admin = site.get_model_admin(model)
        if isinstance(model_admin, OrganizationScopedAdminMixin | SuperuserOnlyAdminMixin):
            continue
        admin_class = type(model_admin)
        restricted = type(
            admin_class.__name__,
            (SuperuserOnlyAdminMixin, admin_class),
            {"__module__": admin_class.__module__},
        )
        site.unregister(model)
        site.register(model, restricted)


class MembershipInline(admin.TabularInline):
    """Who holds which role: only superusers give or take memberships."""

    model = Membership
    extra = 0
    fields = ["user", "role"]

    def _manages(self, request: HttpRequest, obj: Organization | None) -> bool:
        if obj is None:
            return allows_anywhere(request.user, Action.ORGANIZATION_MANAGE)
        return allows(request.user, Action.ORGANIZATION_MANAGE, obj.pk)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request, obj)


class OrganizationAdminForm(ModelForm):
    """The NIT as Colombians type it: '900.123.456-8', '900123456-8', or its digits with the
    check digit in its own field (or left empty: it is computed). Read by the same
    `nit_read` as `organization_add`, which then saves it (see OrganizationAdmin.save_model)."""

    nit = forms.CharField(
        label=_("NIT"),
        max_length=24,
        help_text=_(
            "Como lo escribes normalmente: 900.123.456-8, 900123456-8 o solo 900123456 (el "
            "dígito de verificación va entonces en su campo, o se calcula)."
        ),
    )
    check_digit = forms.IntegerField(
        label=_("Dígito de verificación"),
        required=False,
        min_value=0,
        max_value=9,
        help_text=_("Opcional si ya va en el NIT; lo verificamos con el módulo 11 de la DIAN."),
    )

    class Meta:
        model = Organization
        fields = ["name", "nit", "check_digit"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "nit" in self.fields and data.get("nit"):
            typed = data["nit"]
            try:
                data["nit"], data["check_digit"] = nit_read(typed, data.get("check_digit"))
            except ValidationError as error:
                # Only the mistake is shown, not the model's "solo dígitos" on the typed text.
                with suppress(ValueError):
                    data["nit"] = split_nit(typed)[0]
                self.add_error(None, error)
        return data


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    """The NIT and its check digit are checked by the model (DIAN's modulo 11); saving goes
    through `organization_add`, like the command line, so both write the same way."""

    organization_field = "pk"
    view_action = Action.ORGANIZATION_VIEW
    add_action = change_action = delete_action = Action.ORGANIZATION_MANAGE
    form = OrganizationAdminForm
    inlines = [MembershipInline]
    list_display = ["name", "nit_display", "created_at"]
    search_fields = ["name", "nit"]
    ordering = ["name"]

    @admin.display(description=_("NIT"), ordering="nit")
    def nit_display(self, obj: Organization) -> str:
        return obj.nit_display

    def get_fields(self, request: HttpRequest, obj: Organization | None = None) -> Any:
        # Once saved, the NIT is shown the Colombian way (900.123.456-8), in one piece.
        return ["name", "nit", "check_digit"] if obj is None else ["name", "nit_display"]

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None) -> Any:
        # The NIT identifies the organization: a different NIT is a different organization.
        return ["nit", "check_digit", "nit_display"] if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: Organization, form: ModelForm, change: bool
    ) -> None:
        if change:
            saved, _created = organization_add(nit=obj.nit, name=obj.name)
        else:
            cleaned = form.cleaned_data
            saved, _created = organization_add(
                nit=cleaned["nit"], check_digit=cleaned["check_digit"], name=cleaned["name"]
            )
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
