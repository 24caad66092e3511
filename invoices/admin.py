"""The accountants' workspace: the received documents, their files, their review and exports.

Who sees and does what is decided by organizations.scoping, by the role in the document's
organization: Back office and Contador read and export, Contador reviews, superusers do
everything, Soporte nothing (a 403: it holds a role in every organization). Another
organization's document is a 404, so its existence does not leak. Documents are read-only here
(they are what the supplier sent); the review steps go through invoices.services.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, Max, OuterRef, QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from config.storage import private_storage
from invoices import services
from invoices.business_days import business_days_left, goods_received_window
from invoices.display import PRETTY_XML_MAX_BYTES, format_amount, pretty_xml
from invoices.exceptions import ReviewRefused
from invoices.exports import csv_lines, xlsx_file
from invoices.forms import AcceptForm, ClaimForm, ReviewNoteForm
from invoices.models import DocumentType, ReceivedDocument, ReviewStatus
from invoices.selectors import (
    document_badges,
    search_documents,
    visible_documents,
    visible_mailboxes,
)
from organizations.admin import OrganizationScopedAdminMixin
from organizations.roles import Action
from organizations.scoping import allows_anywhere, scope_queryset


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class TacitAcceptanceFilter(admin.SimpleListFilter):
    title = gettext_lazy("aceptación tácita")
    parameter_name = "plazo"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("proximo", _("Vence hoy o el próximo día hábil")),
            ("vencido", _("Plazo vencido")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() not in ("proximo", "vencido"):
            return queryset
        earliest, latest = goods_received_window(today=timezone.localdate(), within_business_days=1)
        waiting = queryset.filter(review_status=ReviewStatus.GOODS_RECEIVED)
        if self.value() == "vencido":
            return waiting.filter(goods_received_at__lt=_start_of_day(earliest))
        return waiting.filter(
            goods_received_at__gte=_start_of_day(earliest),
            goods_received_at__lt=_start_of_day(latest + datetime.timedelta(days=1)),
        )


class SupplierFilter(admin.SimpleListFilter):
    """The busiest suppliers among the latest documents; any other is one click on its NIT.

    Counting every supplier of 200,000 documents on each page load costs most of a second; the
    latest `sample` documents come straight off the list's index and name the suppliers that
    matter this month.
    """

    title = gettext_lazy("proveedor")
    parameter_name = "proveedor"
    shown = 20
    sample = 1000

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        documents = visible_documents(request.user)
        latest = documents.order_by("-issue_date", "-id").values("pk")[: self.sample]
        rows = (
            documents.filter(pk__in=latest)
            .values("supplier_nit")
            .annotate(name=Max("supplier_name"), documents=Count("id"))
            .order_by("-documents", "supplier_nit")[: self.shown]
        )
        choices = [(row["supplier_nit"], f"{row['name']} ({row['supplier_nit']})") for row in rows]
        chosen = self.value()
        if chosen and chosen not in {nit for nit, _label in choices}:
            choices.insert(0, (chosen, chosen))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(supplier_nit=self.value()) if self.value() else queryset


class MailboxFilter(admin.SimpleListFilter):
    title = gettext_lazy("buzón")
    parameter_name = "buzon"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(mailbox.pk), str(mailbox)) for mailbox in visible_mailboxes(request.user)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(mailbox_id=value) if value.isdigit() else queryset.none()


class DeferredJoinPaginator(Paginator):
    """Pick a page's ids first, then fetch those rows.

    The ids come from an index-only scan, so a page far from the first skips index entries
    rather than whole rows (and the per-row duplicate check runs for one page only).
    """

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)


@admin.register(ReceivedDocument)
class ReceivedDocumentAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    view_action = Action.DOCUMENT_VIEW
    object_select_related = (
        "organization",
        "mailbox__organization",
        "source_message",
        "referenced_document",
    )
    paginator = DeferredJoinPaginator
    list_display = (
        "issue_date",
        "type_display",
        "number",
        "supplier_nit_link",
        "supplier_name",
        "total_display",
        "dian_validated",
        "review_status",
        "badges",
        "deadline_display",
    )
    list_display_links = ("number",)
    list_filter = (
        "document_type",
        SupplierFilter,
        "review_status",
        TacitAcceptanceFilter,
        MailboxFilter,
        "dian_validated",
        "is_test_environment",
    )
    date_hierarchy = "issue_date"
    search_fields = ("supplier_nit", "supplier_name", "number", "cufe")
    search_help_text = gettext_lazy(
        "NIT del proveedor, nombre del proveedor, número exacto (con prefijo) o CUFE/CUDE."
    )
    ordering = ("-issue_date", "-id")
    list_per_page = 50
    show_full_result_count = False
    fieldsets = (
        (
            gettext_lazy("Documento"),
            {
                "fields": (
                    ("document_type", "type_code"),
                    "number",
                    "cufe",
                    "cufe_scheme",
                    ("issue_date", "issue_time"),
                    "organization",
                    "mailbox",
                    "received_at",
                )
            },
        ),
        (
            gettext_lazy("Proveedor y comprador"),
            {
                "fields": (
                    ("supplier_nit", "supplier_check_digit"),
                    "supplier_name",
                    ("buyer_nit", "buyer_check_digit"),
                    "buyer_name",
                )
            },
        ),
        (
            gettext_lazy("Valores"),
            {
                "fields": (
                    "currency",
                    "line_extension_display",
                    "tax_exclusive_display",
                    "tax_display",
                    "tax_inclusive_display",
                    "total_display",
                )
            },
        ),
        (
            gettext_lazy("Validación"),
            {
                "fields": (
                    ("dian_validated", "dian_response_code"),
                    "is_test_environment",
                    "warnings_display",
                )
            },
        ),
        (
            gettext_lazy("Referencia"),
            {"fields": ("referenced_number", "referenced_cufe", "referenced_document")},
        ),
    )
    readonly_fields = (
        "received_at",
        "line_extension_display",
        "tax_exclusive_display",
        "tax_display",
        "tax_inclusive_display",
        "total_display",
        "warnings_display",
    )

    # --- Documents come from the mailbox and are never added, edited or deleted by hand -------

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReceivedDocument]:
        twins = ReceivedDocument.objects.filter(
            organization_id=OuterRef("organization_id"),
            number=OuterRef("number"),
            supplier_nit=OuterRef("supplier_nit"),
        ).exclude(pk=OuterRef("pk"))
        return super().get_queryset(request).annotate(has_twin=Exists(twins))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return search_documents(queryset, search_term), False

    # --- List columns --------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("tipo"), ordering="document_type")
    def type_display(self, document: ReceivedDocument) -> str:
        return document.get_document_type_display()

    @admin.display(description=gettext_lazy("NIT proveedor"), ordering="supplier_nit")
    def supplier_nit_link(self, document: ReceivedDocument) -> str:
        url = reverse("admin:invoices_receiveddocument_changelist")
        return format_html(
            '<a href="{}?proveedor={}" title="{}">{}</a>',
            url,
            document.supplier_nit,
            _("Ver solo este proveedor"),
            document.supplier_nit,
        )

    @admin.display(description=gettext_lazy("total"), ordering="payable_amount")
    def total_display(self, document: ReceivedDocument) -> str:
        return format_amount(document.payable_amount, document.currency)

    @admin.display(description=gettext_lazy("valor bruto"))
    def line_extension_display(self, document: ReceivedDocument) -> str:
        return format_amount(document.line_extension_amount, document.currency)

    @admin.display(description=gettext_lazy("base gravable"))
    def tax_exclusive_display(self, document: ReceivedDocument) -> str:
        return format_amount(document.tax_exclusive_amount, document.currency)

    @admin.display(description=gettext_lazy("impuestos"))
    def tax_display(self, document: ReceivedDocument) -> str:
        return format_amount(document.tax_amount, document.currency)

    @admin.display(description=gettext_lazy("total con impuestos"))
    def tax_inclusive_display(self, document: ReceivedDocument) -> str:
        return format_amount(document.tax_inclusive_amount, document.currency)

    @admin.display(description=gettext_lazy("hallazgos"))
    def warnings_display(self, document: ReceivedDocument) -> str:
        findings = [w for w in document.warnings if isinstance(w, dict)]
        if not findings:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((w.get("message", ""),) for w in findings)),
        )

    @admin.display(description=gettext_lazy("alertas"))
    def badges(self, document: ReceivedDocument) -> str:
        return format_html_join(
            " ",
            '<span class="doc-badge doc-badge--{}" title="{}">{}</span>',
            document_badges(document),
        )

    @admin.display(description=gettext_lazy("días para aceptación tácita"))
    def deadline_display(self, document: ReceivedDocument) -> str:
        deadline = services.document_tacit_deadline(document)
        if deadline is None:
            return "—"
        left = business_days_left(deadline, today=timezone.localdate())
        if left < 0:
            return _("Vencido (aceptada tácitamente)")
        if left == 0:
            return _("Vence hoy")
        return ngettext("%(days)d día hábil", "%(days)d días hábiles", left) % {"days": left}

    # --- Pages ---------------------------------------------------------------------------------

    def get_urls(self) -> list:
        def view(function: Any) -> Any:
            return self.admin_site.admin_view(function)

        name = "invoices_receiveddocument"
        return [
            path("exportar/csv/", view(self.export_csv_view), name=f"{name}_export_csv"),
            path("exportar/xlsx/", view(self.export_xlsx_view), name=f"{name}_export_xlsx"),
            path(
                "<path:object_id>/pdf/",
                view(xframe_options_sameorigin(self.pdf_view)),
                name=f"{name}_pdf",
            ),
            path(
                "<path:object_id>/pdf/descargar/",
                view(self.pdf_download_view),
                name=f"{name}_pdf_download",
            ),
            path("<path:object_id>/xml/", view(self.xml_download_view), name=f"{name}_xml"),
            path("<path:object_id>/correo/", view(self.eml_download_view), name=f"{name}_eml"),
            path(
                "<path:object_id>/revision/<str:action>/",
                view(self.review_view),
                name=f"{name}_review",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        query = request.GET.copy()
        for key in ("p", "e"):
            query.pop(key, None)
        context = {
            "can_export": allows_anywhere(request.user, Action.DOCUMENT_EXPORT),
            "export_query": query.urlencode(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: ReceivedDocument | None = None,
    ) -> Any:
        if obj is not None:
            context.update(self._document_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _document_context(self, request: HttpRequest, document: ReceivedDocument) -> dict:
        taxes = list(document.taxes.all())
        notes = list(document.notes.order_by("issue_date", "id"))
        deadline = services.document_tacit_deadline(document)
        reviewer = self.allows(request, Action.DOCUMENT_REVIEW, document)
        status = document.review_status
        invoice = document.document_type == DocumentType.INVOICE
        return {
            "document": document,
            "taxes": [tax for tax in taxes if not tax.is_withholding],
            "withholdings": [tax for tax in taxes if tax.is_withholding],
            "notes": notes,
            "events": list(document.review_events.select_related("actor")),
            "radian_events": list(document.radian_events.order_by("created_at", "id")),
            "message": document.source_message,
            "xml_parts": self._xml_parts(document),
            "deadline": deadline,
            "days_left": (
                business_days_left(deadline, today=timezone.localdate()) if deadline else None
            ),
            "can_review": reviewer and invoice,
            "can_acknowledge": status == ReviewStatus.PENDING,
            "can_receive_goods": status == ReviewStatus.ACKNOWLEDGED,
            "can_accept": status == ReviewStatus.GOODS_RECEIVED,
            "can_claim": status in (ReviewStatus.ACKNOWLEDGED, ReviewStatus.GOODS_RECEIVED),
            "note_form": ReviewNoteForm(),
            "claim_form": ClaimForm(),
            "is_final": status in services.FINAL_STATUSES,
        }

    def _xml_parts(self, document: ReceivedDocument) -> list:
        stored = services.document_file(document, "xml")  # also stores the PDF on first use
        if stored is None or not private_storage.exists(stored.name):
            return []
        with private_storage.open(stored.name, "rb") as handle:
            return pretty_xml(handle.read(PRETTY_XML_MAX_BYTES + 1))

    # --- Files: only through these views, never a media URL ------------------------------------

    def _document(self, request: HttpRequest, object_id: str) -> ReceivedDocument:
        """Another organization's document is a 404, a role that may not read it a 403."""
        return self.get_object(request, object_id)

    def pdf_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        document = self._document(request, object_id)
        return _file_response(
            services.document_file(document, "pdf"), document, "pdf", "application/pdf", inline=True
        )

    def pdf_download_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        document = self._document(request, object_id)
        return _file_response(
            services.document_file(document, "pdf"),
            document,
            "pdf",
            "application/pdf",
            inline=False,
        )

    def xml_download_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        document = self._document(request, object_id)
        return _file_response(
            services.document_file(document, "xml"),
            document,
            "xml",
            "application/xml",
            inline=False,
        )

    def eml_download_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        document = self._document(request, object_id)
        message = document.source_message
        if message is None:
            raise Http404
        return _file_response(message.raw, document, "eml", "message/rfc822", inline=False)

    # --- Review --------------------------------------------------------------------------------

    def review_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in REVIEW_ACTIONS:
            raise Http404
        document = self._document(request, object_id)
        if not self.allows(request, Action.DOCUMENT_REVIEW, document):
            raise PermissionDenied
        form_class, needs_confirmation = REVIEW_ACTIONS[action]
        form = form_class(request.POST)
        change_url = reverse("admin:invoices_receiveddocument_change", args=[document.pk])
        if not form.is_valid():
            for errors in form.errors.values():
                self.message_user(request, " ".join(errors), messages.ERROR)
            return HttpResponseRedirect(change_url)
        data = form.cleaned_data
        if needs_confirmation and not data["confirmed"]:
            return self._review_confirmation(request, document, action, form)
        # Imported here: the RADIAN services bring the signing stack (signxml, cryptography's
        # X.509), ~45 ms that every command and worker loading the admin would otherwise pay.
        from invoices import radian_services

        try:
            if radian_services.radian_enabled(document.organization_id):
                return self._review_to_dian(request, document, action, data, change_url)
            done = _apply_review(action, document=document, actor=request.user, data=data)
        except ReviewRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(change_url)
        summary = _("Evento registrado: %(status)s") % {"status": done.get_review_status_display()}
        self.log_change(request, done, summary)
        self.message_user(request, summary, messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def _review_to_dian(
        self, request: HttpRequest, document: ReceivedDocument, action: str, data: dict, url: str
    ) -> HttpResponse:
        """With DIAN credentials the step is an event: signed, queued, applied once registered."""
        from invoices import radian_services  # as in the review step

        event = radian_services.radian_event_request(
            document=document,
            actor=request.user,
            code=REVIEW_CODES[action],
            concept=data.get("concept", ""),
            note=data.get("reason") or data.get("note", ""),
        )
        summary = _(
            "Evento %(code)s firmado (%(number)s) y en camino a la DIAN: la revisión avanza "
            "cuando la DIAN lo registre."
        ) % {"code": event.code, "number": event.number}
        self.log_change(request, document, summary)
        self.message_user(request, summary, messages.SUCCESS)
        return HttpResponseRedirect(url)

    def _review_confirmation(
        self, request: HttpRequest, document: ReceivedDocument, action: str, form: Any
    ) -> TemplateResponse:
        data = form.cleaned_data
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Confirmar evento"),
            "document": document,
            "action": action,
            "action_label": REVIEW_LABELS[action],
            "concept_label": dict(form.fields["concept"].choices).get(data["concept"])
            if "concept" in data
            else "",
            "data": {key: value for key, value in data.items() if key != "confirmed"},
            "change_url": reverse("admin:invoices_receiveddocument_change", args=[document.pk]),
        }
        return TemplateResponse(
            request, "admin/invoices/receiveddocument/review_confirm.html", context
        )

    # --- Export --------------------------------------------------------------------------------

    def _exported_queryset(self, request: HttpRequest) -> QuerySet[ReceivedDocument]:
        """The changelist's own queryset (its filters, search and ordering, without paging),
        limited to the organizations where the user's role allows exporting."""
        if not allows_anywhere(request.user, Action.DOCUMENT_EXPORT):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).queryset
        return scope_queryset(queryset, request.user, action=Action.DOCUMENT_EXPORT)

    def export_csv_view(self, request: HttpRequest) -> HttpResponse:
        try:
            queryset = self._exported_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(_("Filtros inválidos."))
        response = StreamingHttpResponse(
            csv_lines(queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def export_xlsx_view(self, request: HttpRequest) -> HttpResponse:
        try:
            queryset = self._exported_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(_("Filtros inválidos."))
        response = FileResponse(
            xlsx_file(queryset),
            as_attachment=True,
            filename=_export_name("xlsx"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


REVIEW_ACTIONS: dict[str, tuple[type, bool]] = {
    "acuse": (ReviewNoteForm, False),
    "recibo": (ReviewNoteForm, False),
    "aceptar": (AcceptForm, True),
    "reclamar": (ClaimForm, True),
}
REVIEW_CODES = {
    "acuse": services.EVENT_ACKNOWLEDGE,
    "recibo": services.EVENT_GOODS_RECEIVED,
    "aceptar": services.EVENT_ACCEPT,
    "reclamar": services.EVENT_CLAIM,
}
REVIEW_LABELS = {
    "acuse": gettext_lazy("Acuse de recibo de la factura (030)"),
    "recibo": gettext_lazy("Recibo del bien o prestación del servicio (032)"),
    "aceptar": gettext_lazy("Aceptación expresa (033)"),
    "reclamar": gettext_lazy("Reclamo (031)"),
}


def _apply_review(
    action: str, *, document: ReceivedDocument, actor: Any, data: dict
) -> ReceivedDocument:
    if action == "acuse":
        return services.document_acknowledge(document=document, actor=actor, note=data["note"])
    if action == "recibo":
        return services.document_receive_goods(document=document, actor=actor, note=data["note"])
    if action == "aceptar":
        return services.document_accept(document=document, actor=actor, note=data["note"])
    return services.document_claim(
        document=document, actor=actor, concept=data["concept"], reason=data["reason"]
    )


def _file_response(
    field: Any, document: ReceivedDocument, extension: str, content_type: str, *, inline: bool
) -> FileResponse:
    if not field or not private_storage.exists(field.name):
        raise Http404
    stem = get_valid_filename(f"{document.get_document_type_display()}-{document.number}")
    response = FileResponse(
        private_storage.open(field.name, "rb"),
        as_attachment=not inline,
        filename=f"{stem}.{extension}",
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _export_name(extension: str) -> str:
    return f"documentos-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


# The RADIAN admin pages live in their own module; importing it registers them.
from invoices import admin_radian  # noqa: E402, F401
