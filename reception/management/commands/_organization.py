"""The mailbox every mailbox command is about, named by its organization's --organization."""

from typing import Any

from django.utils.translation import gettext as _

from config.cli import InputRefused
from organizations.cli import organization_from
from reception.models import ReceptionMailbox


def mailbox_from(options: dict[str, Any]) -> ReceptionMailbox:
    organization = organization_from(options)
    try:
        return organization.mailbox
    except ReceptionMailbox.DoesNotExist as error:
        raise InputRefused(
            _("--organization: %(organization)s no tiene buzón de recepción configurado.")
            % {"organization": organization}
        ) from error
