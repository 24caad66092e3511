"""The mailbox page's history rows, read-only: what the services wrote."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from organizations.roles import Action
from organizations.scoping import allows
from reception.models import Secret, StatusChange


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
