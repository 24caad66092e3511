"""The one place that decides which organizations a user may see or act for.

Outsiders get 404 (they must not learn that an object exists), read-only roles get 403.
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from organizations.models import Organization
from organizations.roles import SOPORTE_GROUP, Role

User = AbstractBaseUser | AnonymousUser


def is_soporte(user: User) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_is_soporte", None)
    if cached is None:
        cached = user.groups.filter(name=SOPORTE_GROUP).exists()
        user._is_soporte = cached
    return cached


def sees_all_organizations(user: User) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or is_soporte(user)))


def organization_ids(user: User, roles: Iterable[str] | None = None) -> QuerySet | None:
    """Ids of the organizations `user` belongs to with one of `roles`; None means all of them."""
    if sees_all_organizations(user) and roles is None:
        return None
    if user.is_superuser:
        return None
    if not user.is_authenticated:
        return Organization.objects.none().values("id")
    memberships = user.memberships.all()
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return memberships.values("organization_id")


def scope_queryset(
    queryset: QuerySet,
    user: User,
    *,
    field: str = "organization",
    roles: Iterable[str] | None = None,
) -> QuerySet:
    """Limit `queryset` to rows whose `field` points at an organization visible to `user`."""
    ids = organization_ids(user, roles)
    if ids is None:
        return queryset
    lookup = "id__in" if field in ("", "pk", "id") else f"{field}__in"
    return queryset.filter(**{lookup: ids})


def can_configure(user: User, organization_id: int) -> bool:
    """Back office of that organization (or superuser) may change its mailbox."""
    if user.is_superuser:
        return True
    if not user.is_authenticated:
        return False
    return user.memberships.filter(organization_id=organization_id, role=Role.BACK_OFFICE).exists()
