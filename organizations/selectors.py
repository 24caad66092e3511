"""Reads on organizations shared by the admin, the commands and the tasks."""

from organizations.models import Organization
from organizations.nit import split_nit


def organization_by_nit(value: str) -> Organization:
    """The organization of a NIT written with or without its check digit ('900123456-8').

    Raises Organization.DoesNotExist (also for a check digit that does not match) or ValueError.
    """
    digits, check_digit = split_nit(value)
    organization = Organization.objects.get(nit=digits)
    if check_digit is not None and check_digit != organization.check_digit:
        raise Organization.DoesNotExist(f"NIT {value}: dígito de verificación incorrecto")
    return organization
