"""The three roles, as Django groups (created by a data migration) and membership roles.

Back office and Contador are granted per organization through a Membership; Soporte is global:
a member of the Soporte group sees every organization but never a secret value.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

BACK_OFFICE_GROUP = "Back office"
CONTADOR_GROUP = "Contador"
SOPORTE_GROUP = "Soporte"


class Role(models.TextChoices):
    BACK_OFFICE = "back_office", _("Back office")
    CONTADOR = "contador", _("Contador")


ROLE_GROUPS = {Role.BACK_OFFICE: BACK_OFFICE_GROUP, Role.CONTADOR: CONTADOR_GROUP}
