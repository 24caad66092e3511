"""The reception mailbox in the admin: thin over `MailboxConfigurationForm` and the services.

A valid POST is saved here rather than through Django's own save path because that path runs
inside one database transaction, and the connection check that `mailbox_configure` ends with
must run outside any transaction (it can take the network timeout while holding row locks).
Only public ModelAdmin hooks are used; an invalid POST and every GET go to Django's view.

The mailbox's operations ("Probar conexión", "Reactivar", "Actualizar secreto", the backup
address) are pages of their own added with `get_urls`, each one a permission check and one
service call. The fetch runs and the triage of recorded mail are read-only lists beside it.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    QueryDict,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from invoices.ingestion import message_reprocess
from organizations.admin import OrganizationScopedAdminMixin
from organizations.models import Organization
from organizations.roles import Action
from organizations.scoping import allows, allows_anywhere, scope_queryset
from reception import services
from reception.destinations import DestinationRefused
from reception.forms import (
    CONNECTION_FIELDS,
    INTRO_PARAGRAPHS,
    SECURITY_NOTE,
    SWITCH_WARNING,
    MailboxConfigurationForm,
    SecretRotationForm,
    expiry_note,
    secret_state,
)
from reception.models import (
    FetchRun,
    IncomingMessage,
    MailboxStatus,
    MessageOutcome,
    ReceptionMailbox,
    Secret,
    ServerType,
    StatusChange,
)
from reception.monitoring import StaleFetchFilter, last_read_column
from reception.services import mailbox_configure
from reception.storage import private_storage

#: Where a request carries the service's DestinationRefused back to the form (see get_form).
REFUSAL_ATTRIBUTE = "reception_destination_refused"
#: POST key of the intermediate page's "Sí": the sealed form data to save.
SWITCH_PAYLOAD = "_switch_payload"
#: How long the "Sí" of the intermediate page stays valid.
SWITCH_CONFIRMATION_SECONDS = 30 * 60

#: POST key of the backup confirmation page's "Sí".
CONFIRMED = "confirmado"
#: Fetch runs shown on the mailbox page; the full list is the FetchRun admin.
RECENT_RUNS = 10

#: What a change of server type deletes, as the intermediate page lists it.
WIPED_ON_SWITCH = (
    _("Contraseña"),
    _("Id. Tenant"),
    _("Id. Aplicación"),
    _("Id. de objeto"),
    _("Secretos (quedan en el historial, sin su valor)"),
    _("Correo de respaldo y su confirmación"),
    _("Último diagnóstico de conexión"),
)


class ReadOnlyInline(admin.TabularInline):
    """History rows: shown on the mailbox page to whom `view_action` allows, written only by
    the services."""

    extra = 0
    can_delete = False
    view_action: Action
    #: The user columns, joined in the same query instead of one query per row.
    related = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related(*self.related)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and allows(request.user, self.view_action, obj.organization_id)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SecretInline(ReadOnlyInline):
    """The secrets over time: when, by whom, until when, which is current. Never a value."""

    model = Secret
    view_action = Action.SECRET_VIEW
    fields = ["created_at", "created_by", "expires_on", "notification_email", "is_current"]
    readonly_fields = fields
    related = ("created_by",)
    verbose_name_plural = _("historial de secretos")


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    view_action = Action.MAILBOX_VIEW
    fields = ["created_at", "from_status", "to_status", "reason", "actor", "source"]
    readonly_fields = fields
    related = ("actor",)


@admin.register(ReceptionMailbox)
class ReceptionMailboxAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    view_action = Action.MAILBOX_VIEW
    add_action = change_action = Action.MAILBOX_CONFIGURE
    delete_action = Action.MAILBOX_DELETE
    form = MailboxConfigurationForm
    inlines = [SecretInline, StatusChangeInline]
    list_display = [
        "organization",
        "username",
        "server_type",
        "protocol",
        "status",
        "status_changed_at",
        last_read_column,
    ]
    list_filter = ["status", StaleFetchFilter, "server_type", "protocol"]
    list_select_related = ["organization"]
    search_fields = ["username", "organization__name", "organization__nit"]
    switch_template = "admin/reception/receptionmailbox/switch_server_type.html"
    check_result_template = "admin/reception/receptionmailbox/check_result.html"
    rotation_template = "admin/reception/receptionmailbox/rotate_secret.html"
    confirm_backup_template = "admin/reception/receptionmailbox/confirm_backup.html"

    # --- Who may do what -------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._configurable_organizations(request).exists()

    def _configurable_organizations(self, request: HttpRequest) -> QuerySet[Organization]:
        """Organizations without a mailbox yet, where the user may configure one."""
        queryset = Organization.objects.filter(mailbox__isnull=True)
        return scope_queryset(queryset, request.user, action=Action.MAILBOX_CONFIGURE, field="pk")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = self._configurable_organizations(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- What the page shows ---------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: ReceptionMailbox | None = None) -> list:
        if obj is not None and not self.has_change_permission(request, obj):
            return self._read_only_fieldsets(request, obj)
        head = ["organization"] if obj is None else ["organization", "status_summary"]
        if obj is not None and self.allows(request, Action.SECRET_VIEW, obj):
            head.append("secret_summary")
        return [
            (None, {"fields": head}),
            (
                _("Correo Recepción de Documentos Electrónicos"),
                {
                    "description": _paragraphs(INTRO_PARAGRAPHS),
                    "fields": CONNECTION_FIELDS,
                },
            ),
            (_("Autenticación básica"), {"classes": ["basic-auth"], "fields": ["password"]}),
            (
                _("Información de Seguridad"),
                {
                    "classes": ["modern-auth"],
                    "description": _paragraphs([SECURITY_NOTE]),
                    "fields": [
                        "tenant_id",
                        "tenant_id_confirm",
                        "client_id",
                        "client_id_confirm",
                        "secret",
                        "secret_confirm",
                        "object_id",
                    ],
                },
            ),
            (
                None,
                {
                    "classes": ["modern-auth"],
                    "description": _paragraphs([expiry_note()]),
                    "fields": ["secret_expires_on", "notification_email"],
                },
            ),
        ]

    def _read_only_fieldsets(self, request: HttpRequest, obj: ReceptionMailbox) -> list:
        head = ["organization", "status_summary"]
        if self.allows(request, Action.SECRET_VIEW, obj):
            head.append("secret_summary")
        return [
            (None, {"fields": head}),
            (
                _("Correo Recepción de Documentos Electrónicos"),
                {"fields": CONNECTION_FIELDS},
            ),
            (_("Información de Seguridad"), {"fields": ["tenant_id", "client_id", "object_id"]}),
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ReceptionMailbox | None = None
    ) -> list[str]:
        return [] if obj is None else ["organization", "status_summary", "secret_summary"]

    @admin.display(description=_("Estado"))
    def status_summary(self, obj: ReceptionMailbox) -> str:
        when = (
            date_format(timezone.localtime(obj.status_changed_at), "SHORT_DATETIME_FORMAT")
            if obj.status_changed_at
            else "—"
        )
        return format_html(
            '<strong class="mailbox-status mailbox-status-{}">{}</strong> · {}<br>{}',
            obj.status,
            obj.get_status_display(),
            when,
            obj.status_reason or "",
        )

    @admin.display(description=_("Secreto"))
    def secret_summary(self, obj: ReceptionMailbox) -> str:
        if obj.server_type != ServerType.OUTLOOK_MODERN:
            return gettext("No aplica: este tipo de servidor no usa secreto.")
        current = obj.current_secret
        if current is None:
            return gettext("No hay un secreto configurado.")
        return gettext("Hay un secreto configurado (%(state)s).") % {"state": secret_state(current)}

    # --- Saving ----------------------------------------------------------------------------

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method != "POST":
            if object_id is not None:
                mailbox = self.get_object(request, unquote(object_id))
                extra_context = {"title": _title(mailbox), **(extra_context or {})}
            return super().changeform_view(request, object_id, form_url, extra_context)
        mailbox = None if object_id is None else self.get_object(request, unquote(object_id))
        if mailbox is None and not self.has_add_permission(request):
            raise PermissionDenied
        if mailbox is not None and not self.has_change_permission(request, mailbox):
            raise PermissionDenied
        if mailbox is not None and SWITCH_PAYLOAD in request.POST:
            return self._switch_confirmed(request, mailbox)
        form_class = self.get_form(request, mailbox, change=mailbox is not None)
        form = form_class(request.POST, request.FILES, instance=mailbox)
        if not form.is_valid():
            # Django's own view validates again and shows the errors; it saves nothing.
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            if form.switches_server_type:
                services.mailbox_destination_check(form.cleaned_data)
                return self._switch_confirmation(request, mailbox, form)
            saved = self._configure(request, form, confirm_switch=False)
        except DestinationRefused as refused:
            # Django's view validates again, with the refusal on its field (see get_form).
            setattr(request, REFUSAL_ATTRIBUTE, refused)
            return super().changeform_view(request, object_id, form_url, extra_context)
        message = self.construct_change_message(request, form, [], add=mailbox is None)
        if mailbox is None:
            self.log_addition(request, saved, message)
            return self.response_add(request, saved)
        self.log_change(request, saved, message)
        return self.response_change(request, saved)

    def get_form(
        self,
        request: HttpRequest,
        obj: ReceptionMailbox | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[MailboxConfigurationForm]:
        """The configuration form, carrying the service's refusal of this request if any."""
        form = super().get_form(request, obj, change, **kwargs)
        refused = getattr(request, REFUSAL_ATTRIBUTE, None)
        if refused is None:
            return form
        return type(form.__name__, (form,), {"service_errors": {refused.field: [str(refused)]}})

    def _configure(
        self, request: HttpRequest, form: MailboxConfigurationForm, *, confirm_switch: bool
    ) -> ReceptionMailbox:
        if form.instance.pk:
            organization = form.instance.organization
        else:
            organization = form.cleaned_data["organization"]
        mailbox = mailbox_configure(
            organization=organization,
            data=form.cleaned_data,
            actor=request.user,
            source="admin",
            confirm_switch=confirm_switch,
        )
        mailbox.refresh_from_db()
        self._tell_status(request, mailbox)
        return mailbox

    def _tell_status(self, request: HttpRequest, mailbox: ReceptionMailbox, lead: str = "") -> None:
        self.message_user(
            request,
            lead
            + _("Estado del correo: %(status)s. %(reason)s")
            % {"status": mailbox.get_status_display(), "reason": mailbox.status_reason},
            messages.WARNING if mailbox.status == MailboxStatus.INACTIVE else messages.SUCCESS,
        )

    # --- The server-type switch ------------------------------------------------------------

    def _switch_confirmation(
        self, request: HttpRequest, mailbox: ReceptionMailbox, form: MailboxConfigurationForm
    ) -> TemplateResponse:
        """The guide's warning, with "Sí" re-posting the (sealed) data and "No" going back."""
        new_type = ServerType(form.cleaned_data["server_type"])
        context = {
            **self.admin_site.each_context(request),
            "title": _("¿Cambiar el Tipo de Servidor?"),
            "subtitle": None,
            "opts": self.opts,
            "object": mailbox,
            "warning": SWITCH_WARNING,
            "previous_type": ServerType(form.stored_server_type).label,
            "new_type": new_type.label,
            "wiped": WIPED_ON_SWITCH,
            "payload_name": SWITCH_PAYLOAD,
            "payload": _seal(request, mailbox, request.POST),
            "change_url": reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk]),
        }
        return TemplateResponse(request, self.switch_template, context)

    def _switch_confirmed(self, request: HttpRequest, mailbox: ReceptionMailbox) -> HttpResponse:
        """ "Sí": validate the data again (never trust what came back) and save the new type."""
        change_url = reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])
        data = _unseal(request, mailbox, request.POST[SWITCH_PAYLOAD])
        if data is None:
            self.message_user(
                request,
                _("La confirmación venció o no es válida; no se cambió nada. Guarda de nuevo."),
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        form = self.get_form(request, mailbox, change=True)(data, instance=mailbox)
        if not form.is_valid():
            errors = "; ".join(
                f"{form.fields[name].label if name in form.fields else ''}: {' '.join(msgs)}"
                for name, msgs in form.errors.items()
            )
            self.message_user(
                request,
                _("Los datos ya no son válidos; no se cambió nada. %(errors)s")
                % {"errors": errors},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        try:
            saved = self._configure(request, form, confirm_switch=True)
        except DestinationRefused as refused:
            self.message_user(
                request,
                _("Los datos ya no son válidos; no se cambió nada. %(errors)s")
                % {"errors": f"{form.fields[refused.field].label}: {refused}"},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        self.log_change(request, saved, self.construct_change_message(request, form, []))
        self.message_user(
            request,
            _("Tipo de Servidor cambiado a «%(type)s»; se eliminaron los parámetros anteriores.")
            % {"type": saved.get_server_type_display()},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)

    # --- Operations: the connection check, the secret, the backup address -------------------

    def get_urls(self) -> list:
        def view(function: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(function)

        name = "reception_receptionmailbox"
        return [
            path("<path:object_id>/probar/", view(self.check_view), name=f"{name}_check"),
            path(
                "<path:object_id>/reactivar/",
                view(self.reactivate_view),
                name=f"{name}_reactivate",
            ),
            path(
                "<path:object_id>/secreto/",
                view(self.rotate_secret_view),
                name=f"{name}_rotate_secret",
            ),
            path(
                "<path:object_id>/respaldo/confirmar/",
                view(self.confirm_backup_view),
                name=f"{name}_confirm_backup",
            ),
            path(
                "<path:object_id>/respaldo/reenviar/",
                view(self.resend_backup_view),
                name=f"{name}_resend_backup",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: ReceptionMailbox | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._operations_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _operations_context(self, request: HttpRequest, mailbox: ReceptionMailbox) -> dict:
        """What the diagnosis panel and the operation buttons of the change page need."""

        def may(action: Action) -> bool:
            return self.allows(request, action, mailbox)

        awaits_backup = services.backup_awaits_confirmation(mailbox)
        shows_runs = may(Action.FETCH_RUN_VIEW)
        return {
            "can_check": may(Action.MAILBOX_CHECK),
            "can_reactivate": mailbox.status == MailboxStatus.INACTIVE
            and may(Action.MAILBOX_REACTIVATE),
            "can_rotate_secret": mailbox.uses_modern_auth and may(Action.SECRET_ROTATE),
            "can_confirm_backup": awaits_backup and may(Action.MAILBOX_CONFIRM_BACKUP),
            "can_resend_backup": awaits_backup and may(Action.MAILBOX_CONFIGURE),
            **diagnosis_context(mailbox),
            "recent_runs": list(mailbox.runs.all()[:RECENT_RUNS]) if shows_runs else None,
            "runs_url": reverse("admin:reception_fetchrun_changelist") + f"?buzon={mailbox.pk}",
        }

    def _operated_mailbox(
        self, request: HttpRequest, object_id: str, action: Action
    ) -> ReceptionMailbox:
        """Someone else's mailbox is a 404; a role there that does not allow `action` a 403."""
        mailbox = self.get_object(request, unquote(object_id))
        if not self.allows(request, action, mailbox):
            raise PermissionDenied
        return mailbox

    def check_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """ "Probar conexión": the check runs only on POST (it reaches the mail server)."""
        return self._checked(request, object_id, Action.MAILBOX_CHECK, source="admin")

    def reactivate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Soporte's "Reactivar": the same check; its result decides the status."""
        return self._checked(
            request, object_id, Action.MAILBOX_REACTIVATE, source="admin_reactivar"
        )

    def _checked(
        self, request: HttpRequest, object_id: str, action: Action, *, source: str
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        mailbox = self._operated_mailbox(request, object_id, action)
        services.mailbox_check(mailbox, actor=request.user, source=source)
        self.log_change(
            request,
            mailbox,
            gettext("Probó la conexión: %(status)s.") % {"status": mailbox.get_status_display()},
        )
        self._tell_status(request, mailbox)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Resultado de «Probar conexión»"),
            "subtitle": None,
            "opts": self.opts,
            "object": mailbox,
            "change_url": _change_url(mailbox),
            **diagnosis_context(mailbox),
        }
        return TemplateResponse(request, self.check_result_template, context)

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """ "Actualizar secreto": the rotation form, then `secret_rotate` (which checks)."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        mailbox = self._operated_mailbox(request, object_id, Action.SECRET_ROTATE)
        if not mailbox.uses_modern_auth:
            self.message_user(
                request,
                gettext("Este tipo de servidor no usa secreto de aplicación."),
                messages.ERROR,
            )
            return HttpResponseRedirect(_change_url(mailbox))
        current = mailbox.current_secret
        if request.method == "POST":
            form = SecretRotationForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                services.secret_rotate(
                    mailbox,
                    value=data["secret"],
                    expires_on=data["secret_expires_on"],
                    notification_email=data["notification_email"],
                    actor=request.user,
                    source="admin",
                )
                self.log_change(request, mailbox, gettext("Actualizó el secreto."))
                self._tell_status(request, mailbox, gettext("Secreto actualizado. "))
                return HttpResponseRedirect(_change_url(mailbox))
        else:
            form = SecretRotationForm(
                initial={"notification_email": current.notification_email if current else ""}
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Actualizar secreto"),
            "subtitle": None,
            "opts": self.opts,
            "object": mailbox,
            "form": form,
            "current_secret": secret_state(current) if current else "",
            "notes": [SECURITY_NOTE, expiry_note()],
            "change_url": _change_url(mailbox),
        }
        return TemplateResponse(request, self.rotation_template, context)

    def confirm_backup_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Soporte confirms the backup address by hand, after a page that asks "¿Seguro?"."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        mailbox = self._operated_mailbox(request, object_id, Action.MAILBOX_CONFIRM_BACKUP)
        if not services.backup_awaits_confirmation(mailbox):
            return self._nothing_to_confirm(request, mailbox)
        if request.POST.get(CONFIRMED) != "si":
            context = {
                **self.admin_site.each_context(request),
                "title": gettext("¿Confirmar el correo de respaldo?"),
                "subtitle": None,
                "opts": self.opts,
                "object": mailbox,
                "confirmed_name": CONFIRMED,
                "change_url": _change_url(mailbox),
            }
            return TemplateResponse(request, self.confirm_backup_template, context)
        try:
            services.backup_confirm_manually(mailbox, actor=request.user)
        except services.BackupNotAwaitingConfirmation:  # confirmed meanwhile (link, someone)
            return self._nothing_to_confirm(request, mailbox)
        mailbox.refresh_from_db()
        self.log_change(
            request,
            mailbox,
            gettext("Confirmó a mano el correo de respaldo %(email)s.")
            % {"email": mailbox.backup_email},
        )
        self._tell_status(request, mailbox, gettext("Correo de respaldo confirmado. "))
        return HttpResponseRedirect(_change_url(mailbox))

    def resend_backup_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Back office asks for a new confirmation link; it replaces the earlier ones."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        mailbox = self._operated_mailbox(request, object_id, Action.MAILBOX_CONFIGURE)
        try:
            services.backup_confirmation_send(mailbox)
        except services.BackupNotAwaitingConfirmation:
            return self._nothing_to_confirm(request, mailbox)
        self.log_change(request, mailbox, gettext("Reenvió el enlace de confirmación."))
        self.message_user(
            request,
            gettext("Enviamos un nuevo enlace de confirmación a %(email)s.")
            % {"email": mailbox.backup_email},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(_change_url(mailbox))

    def _nothing_to_confirm(self, request: HttpRequest, mailbox: ReceptionMailbox) -> HttpResponse:
        self.message_user(
            request,
            gettext("Este buzón no tiene un correo de respaldo por confirmar."),
            messages.WARNING,
        )
        return HttpResponseRedirect(_change_url(mailbox))


def _title(mailbox: ReceptionMailbox) -> str:
    """The guide's heading: "Correo Recepción de Documentos Electrónicos - Activo"."""
    return f"{ReceptionMailbox._meta.verbose_name} - {mailbox.get_status_display()}"


def _paragraphs(texts: Any) -> str:
    return format_html_join("", "<p>{}</p>", ((text,) for text in texts))


def _fernet() -> Fernet:
    """A key of its own for the switch page, derived from the secrets' encryption key."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"reception.switch-confirmation"
    ).derive(settings.RECEPTION_ENCRYPTION_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _seal(request: HttpRequest, mailbox: ReceptionMailbox, post: QueryDict) -> str:
    """The submitted data, encrypted: the intermediate page must not show a secret or password."""
    fields = [
        [name, value]
        for name, values in post.lists()
        if name not in ("csrfmiddlewaretoken", SWITCH_PAYLOAD)
        for value in values
    ]
    payload = {"mailbox": mailbox.pk, "user": request.user.pk, "fields": fields}
    return _fernet().encrypt(json.dumps(payload).encode()).decode()


def _unseal(request: HttpRequest, mailbox: ReceptionMailbox, token: str) -> QueryDict | None:
    """The data sealed for this mailbox and this user, unless expired or tampered with."""
    try:
        payload = json.loads(_fernet().decrypt(token.encode(), ttl=SWITCH_CONFIRMATION_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if payload.get("mailbox") != mailbox.pk or payload.get("user") != request.user.pk:
        return None
    data = QueryDict(mutable=True)
    for name, value in payload["fields"]:
        data.appendlist(name, value)
    return data


def _change_url(mailbox: ReceptionMailbox) -> str:
    return reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])


#: Labels of the token claims shown with the diagnosis (the JWT's own names in parentheses).
CLAIM_LABELS = (
    ("aud", _("Audiencia (aud)")),
    ("tid", _("Tenant (tid)")),
    ("appid", _("Aplicación (appid)")),
    ("oid", _("Id. de objeto (oid)")),
    ("roles", _("Roles")),
    ("exp", _("Vence (exp)")),
)


def diagnosis_context(mailbox: ReceptionMailbox) -> dict[str, Any]:
    """The last check as the diagnosis template shows it (the stored JSON holds no secret)."""
    check = mailbox.last_check or None
    claims = (check or {}).get("token_claims") or None
    rows = []
    for key, label in CLAIM_LABELS if claims else ():
        value = claims.get(key)
        if key == "roles":
            value = ", ".join(value or ()) or gettext("ninguno")
        elif key == "exp" and value:
            value = date_format(
                timezone.localtime(datetime.datetime.fromtimestamp(value, tz=datetime.UTC)),
                "DATETIME_FORMAT",
            )
        rows.append((label, value or "—"))
    return {
        "diagnosis": check,
        "diagnosis_checked_at": mailbox.last_checked_at,
        "diagnosis_claims": rows,
    }


# --- Fetch runs and the triage of recorded mail -------------------------------------------------


class MailboxScopedAdminMixin(OrganizationScopedAdminMixin):
    """Read-only rows of a mailbox, seen where the role in its organization allows `view_action`."""

    organization_field = "mailbox__organization"

    def visible_mailboxes(self, request: HttpRequest) -> QuerySet[ReceptionMailbox]:
        return scope_queryset(ReceptionMailbox.objects.all(), request.user, action=self.view_action)


class MailboxFilter(admin.SimpleListFilter):
    """Only the mailboxes the user may see: a list filter must not reveal other customers."""

    title = _("buzón")
    parameter_name = "buzon"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        mailboxes = model_admin.visible_mailboxes(request).select_related("organization")
        return [(str(m.pk), str(m)) for m in mailboxes.order_by("organization__name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(mailbox_id=int(value))


@admin.register(FetchRun)
class FetchRunAdmin(MailboxScopedAdminMixin, admin.ModelAdmin):
    """Every scheduled or manual fetch: when, what it found (counts, errors by reason), and why
    it failed; never a sender or a subject, so Soporte may read it."""

    view_action = Action.FETCH_RUN_VIEW
    list_display = [
        "started_at",
        "finished_at",
        "mailbox",
        "trigger",
        "outcome",
        "counts_summary",
        "error_summary",
    ]
    list_filter = ["outcome", MailboxFilter]
    list_select_related = ["mailbox__organization"]
    fields = ["mailbox", "trigger", "started_at", "finished_at", "outcome", "counts", "error"]
    readonly_fields = fields
    date_hierarchy = "started_at"

    @admin.display(description=_("conteos"))
    def counts_summary(self, run: FetchRun) -> str:
        counts = run.counts or {}
        errors = sum((counts.get("errors") or {}).values())
        return gettext(
            "%(seen)s leídos · %(documents)s documentos · %(duplicates)s duplicados · "
            "%(not_dian)s no DIAN · %(errors)s con error"
        ) % {
            "seen": counts.get("seen", 0),
            "documents": counts.get("documents", 0),
            "duplicates": counts.get("duplicates", 0),
            "not_dian": counts.get("not_dian", 0),
            "errors": errors,
        }

    @admin.display(description=_("error"))
    def error_summary(self, run: FetchRun) -> str:
        return run.error[:160]


class OutcomeFilter(admin.SimpleListFilter):
    """Triage first: by default only the mail that produced no document."""

    title = _("resultado")
    parameter_name = "resultado"
    show_all = "todos"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.show_all, gettext("Todos")), *MessageOutcome.choices]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": gettext("Sin documento"),
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset.exclude(outcome=MessageOutcome.DOCUMENT)
        if value == self.show_all:
            return queryset
        return queryset.filter(outcome=value)


class ReasonCodeFilter(admin.SimpleListFilter):
    title = _("código del motivo")
    parameter_name = "motivo"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        codes = (
            model_admin.get_queryset(request)
            .exclude(reason_code="")
            .order_by("reason_code")
            .values_list("reason_code", flat=True)
            .distinct()
        )
        return [(code, code) for code in codes]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset if value is None else queryset.filter(reason_code=value)


@admin.register(IncomingMessage)
class IncomingMessageAdmin(MailboxScopedAdminMixin, admin.ModelAdmin):
    """The triage: recorded mail that produced no document, its reason, and "Reprocesar".

    The original is downloaded through `eml_view`, which checks the organization like every
    other page; the private storage has no public URL. Soporte never sees it: senders, subjects
    and the original are the content of the mail.
    """

    view_action = Action.MESSAGE_VIEW
    list_display = [
        "received_at",
        "sender",
        "subject",
        "outcome",
        "reason",
        "server_state",
        "mailbox",
        "eml_link",
    ]
    list_filter = [
        OutcomeFilter,
        ReasonCodeFilter,
        MailboxFilter,
        ("received_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["mailbox__organization"]
    search_fields = ["subject", "sender", "message_id"]
    actions = ["reprocess"]
    fields = [
        "mailbox",
        "received_at",
        "sender",
        "subject",
        "sent_at",
        "message_id",
        "outcome",
        "reason_code",
        "reason",
        "processed_at",
        "attempts",
        "server_state",
        "server_key",
        "size",
        "sha256",
        "eml_link",
    ]
    readonly_fields = fields

    def get_urls(self) -> list:
        return [
            path(
                "<path:object_id>/eml/",
                self.admin_site.admin_view(self.eml_view),
                name="reception_incomingmessage_eml",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("correo original"))
    def eml_link(self, message: IncomingMessage) -> str:
        if not message.raw:
            return "—"
        url = reverse("admin:reception_incomingmessage_eml", args=[message.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Descargar .eml"))

    def eml_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        message = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, message):
            raise PermissionDenied
        if not message.raw or not private_storage.exists(message.raw.name):
            raise Http404(gettext("El correo original no está guardado."))
        response = FileResponse(
            private_storage.open(message.raw.name, "rb"),
            as_attachment=True,
            filename=f"correo-{message.pk}.eml",
            content_type="message/rfc822",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return allows_anywhere(request.user, Action.MESSAGE_REPROCESS)

    @admin.action(description=_("Reprocesar"), permissions=["reprocess"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[IncomingMessage]) -> None:
        """Decide the selected mail again from its stored original (after a fix upstream).

        Only the mail of organizations where the user's role allows it: one may read the mail
        of an organization (as Back office) and reprocess another's (as Contador).
        """
        queryset = scope_queryset(
            queryset, request.user, action=Action.MESSAGE_REPROCESS, field=self.organization_field
        )
        reprocessed = documents = 0
        for message in queryset:
            attempts = message.attempts
            message = message_reprocess(message)
            if message.attempts == attempts:
                continue  # its document exists, or no original was stored
            reprocessed += 1
            documents += message.outcome == MessageOutcome.DOCUMENT
            self.log_change(
                request,
                message,
                gettext("Reprocesado: %(outcome)s.") % {"outcome": message.get_outcome_display()},
            )
        self.message_user(
            request,
            ngettext(
                "Se reprocesó %(count)d correo",
                "Se reprocesaron %(count)d correos",
                reprocessed,
            )
            % {"count": reprocessed}
            + "; "
            + ngettext(
                "%(documents)d quedó registrado como documento.",
                "%(documents)d quedaron registrados como documento.",
                documents,
            )
            % {"documents": documents},
            messages.SUCCESS if documents else messages.WARNING,
        )
