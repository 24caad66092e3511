"""The fetch runs and the triage of recorded mail: read-only lists beside the mailbox.

Soporte reads the runs (counts and errors, never a sender or a subject); the recorded mail, its
original and "Reprocesar" are for the roles that may read the mail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from config.storage import private_storage
from organizations.admin import OrganizationScopedAdminMixin
from organizations.roles import Action
from organizations.scoping import allows_anywhere, scope_queryset
from reception.models import FetchRun, IncomingMessage, MessageOutcome, ReceptionMailbox
from reception.processing import message_reprocess


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
    change_list_template = "admin/reception/incomingmessage/change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The default filter hides the mail that became documents: say so above the list."""
        context = {
            "triage_default": OutcomeFilter.parameter_name not in request.GET,
            "show_all_query": f"?{OutcomeFilter.parameter_name}={OutcomeFilter.show_all}",
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

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
                "Se reprocesó %(count)d correo", "Se reprocesaron %(count)d correos", reprocessed
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
