"""The mailbox's operations in the admin: the connection check, the secret, the backup address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext

from organizations.roles import Action
from reception import services
from reception.admin.diagnosis_presenter import diagnosis_context
from reception.admin.pages import DIAGNOSIS_ANCHOR, mailbox_change_url
from reception.exceptions import BackupNotAwaitingConfirmation
from reception.forms import SECURITY_NOTE, SecretRotationForm, expiry_note, secret_state
from reception.models import MailboxStatus, ReceptionMailbox

#: POST key of the backup confirmation page's "Sí".
CONFIRMED = "confirmado"
#: Fetch runs shown on the mailbox page; the full list is the FetchRun admin.
RECENT_RUNS = 10


class MailboxOperationsMixin:
    """The mailbox's own pages ("Probar conexión", "Reactivar", "Actualizar secreto", the backup
    address), added with `get_urls`: each one a permission check and one service call."""

    def get_urls(self) -> list:
        def view(function: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(function)

        name = "reception_receptionmailbox"
        return [
            path("<path:object_id>/probar/", view(self.check_view), name=f"{name}_check"),
            path(
                "<path:object_id>/reactivar/", view(self.reactivate_view), name=f"{name}_reactivate"
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

    def _not_by_address(self, request: HttpRequest, object_id: str) -> HttpResponse | None:
        """A GET on an operation that only its button may run (a bookmark, a typed address):
        not a bare 405, but the mailbox page saying where the button is; None for a POST."""
        if request.method == "POST":
            return None
        if request.method != "GET":
            return HttpResponseNotAllowed(["POST"])
        mailbox = self._operated_mailbox(request, object_id, Action.MAILBOX_VIEW)
        self.message_user(
            request,
            gettext(
                "Esa dirección no ejecuta nada por sí sola: usa el botón correspondiente en la "
                "parte superior de esta página."
            ),
            messages.INFO,
        )
        return HttpResponseRedirect(mailbox_change_url(mailbox) + DIAGNOSIS_ANCHOR)

    def _checked(
        self, request: HttpRequest, object_id: str, action: Action, *, source: str
    ) -> HttpResponse:
        if (answer := self._not_by_address(request, object_id)) is not None:
            return answer
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
            "change_url": mailbox_change_url(mailbox),
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
            return HttpResponseRedirect(mailbox_change_url(mailbox))
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
                return HttpResponseRedirect(mailbox_change_url(mailbox))
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
            "change_url": mailbox_change_url(mailbox),
        }
        return TemplateResponse(request, self.rotation_template, context)

    def confirm_backup_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Soporte confirms the backup address by hand, after a page that asks "¿Seguro?"."""
        if (answer := self._not_by_address(request, object_id)) is not None:
            return answer
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
                "change_url": mailbox_change_url(mailbox),
            }
            return TemplateResponse(request, self.confirm_backup_template, context)
        try:
            services.backup_confirm_manually(mailbox, actor=request.user)
        except BackupNotAwaitingConfirmation:  # confirmed meanwhile (link, someone)
            return self._nothing_to_confirm(request, mailbox)
        mailbox.refresh_from_db()
        self.log_change(
            request,
            mailbox,
            gettext("Confirmó a mano el correo de respaldo %(email)s.")
            % {"email": mailbox.backup_email},
        )
        self._tell_status(request, mailbox, gettext("Correo de respaldo confirmado. "))
        return HttpResponseRedirect(mailbox_change_url(mailbox))

    def resend_backup_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Back office asks for a new confirmation link; it replaces the earlier ones."""
        if (answer := self._not_by_address(request, object_id)) is not None:
            return answer
        mailbox = self._operated_mailbox(request, object_id, Action.MAILBOX_CONFIGURE)
        try:
            services.backup_confirmation_send(mailbox)
        except BackupNotAwaitingConfirmation:
            return self._nothing_to_confirm(request, mailbox)
        self.log_change(request, mailbox, gettext("Reenvió el enlace de confirmación."))
        self.message_user(
            request,
            gettext("Enviamos un nuevo enlace de confirmación a %(email)s.")
            % {"email": mailbox.backup_email},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(mailbox_change_url(mailbox))

    def _nothing_to_confirm(self, request: HttpRequest, mailbox: ReceptionMailbox) -> HttpResponse:
        self.message_user(
            request,
            gettext("Este buzón no tiene un correo de respaldo por confirmar."),
            messages.WARNING,
        )
        return HttpResponseRedirect(mailbox_change_url(mailbox))
