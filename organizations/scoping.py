"""The one place that decides who may do what: by the user's role in the object's organization.

A Back office or Contador membership counts in its own organization only; Soporte counts in
every organization but allows only what the role table gives Soporte. So a user who is Soporte
and Back office of B is Back office in B and Soporte everywhere else: Soporte's permissions and
Back office's are never added up across organizations. Superusers may do everything. Django's
own permissions decide nothing here (the groups only mirror `ROLE_TABLE`).

The admin turns the answers into status codes: an object of an organization where the user may
not even see the organization is a 404 (an outsider must not learn the object exists); a role
there that does not allow the action is a 403.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from organizations.roles import ROLE_TABLE, SOPORTE, SOPORTE_GROUP, Action

User = AbstractBaseUser | AnonymousUser


def allows(user: User, action: Action, organization_id: int) -> bool:
    """May `user` do `action` to an object of the organization `organization_id`?"""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    roles = ROLE_TABLE[action].roles
    if SOPORTE in roles and _is_soporte(user):
        return True
    return _memberships(user).get(organization_id) in roles


def allows_everything(user: User) -> bool:
    """Is `user` an active superuser: the only one who sees the admins no role scopes (users,
    groups, background tasks), whatever Django permissions an account was given by hand."""
    return bool(user.is_active and user.is_superuser)


def organizations_allowing(user: User, action: Action) -> list[int] | None:
    """Ids of the organizations where `user` may do `action`; None means every organization.

    A list of constants rather than a sub-select: PostgreSQL then plans a scoped list on the
    organization's index (see invoices.selectors.visible_documents).
    """
    if not user.is_active:
        return []
    if user.is_superuser:
        return None
    roles = ROLE_TABLE[action].roles
    if SOPORTE in roles and _is_soporte(user):
        return None
    return sorted(org for org, role in _memberships(user).items() if role in roles)


def allows_anywhere(user: User, action: Action) -> bool:
    """May `user` do `action` in at least one organization (a list, an export, a menu)?"""
    ids = organizations_allowing(user, action)
    return ids is None or bool(ids)


def scope_queryset(
    queryset: QuerySet, user: User, *, action: Action, field: str = "organization"
) -> QuerySet:
    """The rows of `queryset` whose organization (`field`, "pk" for organizations) allows it."""
    ids = organizations_allowing(user, action)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def _is_soporte(user: User) -> bool:
    cached = getattr(user, "_is_soporte", None)
    if cached is None:
        cached = user.groups.filter(name=SOPORTE_GROUP).exists()
        user._is_soporte = cached
    return cached


def _memberships(user: User) -> dict[int, str]:
    """organization id → role, read once per user object (one object per request)."""
    cached = getattr(user, "_organization_roles", None)
    if cached is None:
        cached = dict(user.memberships.values_list("organization_id", "role"))
        user._organization_roles = cached
    return cached
