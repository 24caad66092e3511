"""Rules a value must meet to be stored, shared by the forms and the services that write it."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: Entra ID's client secrets are about 40 characters; the forms allow this many.
SECRET_MAX_LENGTH = 512


def validate_secret_value(value: str) -> None:
    """A client secret is sent to Entra ID exactly as stored: it must be printable text without
    spaces, or the mailbox would keep a secret that can never authenticate."""
    if not value:
        raise ValidationError(_("Este campo es obligatorio."), code="required")
    if len(value) > SECRET_MAX_LENGTH:
        raise ValidationError(
            _("«Secreto» es demasiado largo (máximo %(max)s caracteres).")
            % {"max": SECRET_MAX_LENGTH},
            code="max_length",
        )
    if any(char.isspace() for char in value):
        raise ValidationError(
            _(
                "«Secreto» tiene espacios dentro del valor. Revisa que no se tengan espacios en "
                "los datos copiados."
            ),
            code="spaces",
        )
    if not value.isprintable():
        raise ValidationError(
            _(
                "«Secreto» tiene caracteres de control o que no son texto UTF-8. Cópialo de nuevo "
                "desde la columna «Valor» del secreto de cliente en Entra ID."
            ),
            code="unprintable",
        )
