"""Writes on organizations and memberships: the admin and the CLI both call these."""

import unicodedata

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from organizations.models import Membership, Organization
from organizations.nit import nit_check_digit, split_nit
from organizations.roles import ROLE_GROUPS, Role


def nit_read(nit: str, check_digit: int | None = None) -> tuple[str, int]:
    """The NIT's digits and its verified check digit, from what a person typed.

    `nit` as Colombians write it ('900.123.456-8', '900123456-8') or bare digits, with the check
    digit then in `check_digit` (a field of its own) or not at all (it is computed). A digit that
    is wrong, or two that disagree, is refused: it is how a typing mistake shows.
    """
    try:
        digits, given = split_nit(nit)
    except ValueError as exc:
        raise ValidationError(
            {
                "nit": _(
                    "NIT inválido: escribe sus dígitos, con o sin puntos, y si quieres su dígito "
                    "de verificación después de un guion (900.123.456-8)."
                )
            }
        ) from exc
    if not 5 <= len(digits) <= 15:
        raise ValidationError(
            {
                "nit": _(
                    "El NIT tiene %(count)s dígitos; debe tener entre 5 y 15, sin el dígito de "
                    "verificación."
                )
                % {"count": len(digits)}
            }
        )
    if given is not None and check_digit is not None and given != check_digit:
        raise ValidationError(
            {
                "check_digit": _(
                    "El NIT trae el dígito de verificación %(given)s y escribiste %(typed)s "
                    "aparte; deja uno solo."
                )
                % {"given": given, "typed": check_digit}
            }
        )
    # The error goes where the digit was typed: in the NIT, or in its own field.
    field = "nit" if given is not None else "check_digit"
    given = given if given is not None else check_digit
    expected = nit_check_digit(digits)
    if given is not None and given != expected:
        raise ValidationError(
            {
                field: _("El dígito de verificación de %(nit)s es %(expected)s, no %(given)s.")
                % {"nit": digits, "expected": expected, "given": given}
            }
        )
    return digits, expected


def organization_add(
    *, nit: str, name: str, check_digit: int | None = None
) -> tuple[Organization, bool]:
    """Create the organization, or update its name when the NIT exists (safe to run again).

    `nit` may carry its check digit ('900123456-8', '900.123.456-8') or come with it apart in
    `check_digit`; a wrong digit is refused (see `nit_read`).
    """
    digits, expected = nit_read(nit, check_digit)
    name = " ".join((name or "").split())
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise ValidationError({"name": _("La razón social tiene caracteres de control.")})
    with transaction.atomic():
        organization = Organization.objects.select_for_update().filter(nit=digits).first()
        created = organization is None
        if created:
            organization = Organization(nit=digits, check_digit=expected)
        organization.name = name
        organization.full_clean()
        organization.save()
    return organization, created


def membership_set(*, user, organization: Organization, role: str) -> Membership:
    """Give `user` `role` in `organization` and the permissions of that role's group."""
    Role(role)
    with transaction.atomic():
        membership, _created = Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        user.groups.add(Group.objects.get(name=ROLE_GROUPS[Role(role)]))
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return membership
