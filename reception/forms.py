"""The "Correo Recepción de Documentos Electrónicos" form, with every check the guide implies.

The admin and the `mailbox_configure` command both validate through `MailboxConfigurationForm`;
saving is `reception.services.mailbox_configure`'s job. «Actualizar secreto» (admin page and
`mailbox_rotate_secret`) validates through `SecretRotationForm`, which applies the same secret
rules. Nothing here opens a network connection.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import BLANK_CHOICE_DASH
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from reception.destinations import refusal_message, static_refusal
from reception.models import Protocol, ReceptionMailbox, Secret, Security, ServerType
from reception.transports.base import GUID, STANDARD_PORTS
from reception.validators import validate_secret_value

INTRO_PARAGRAPHS = (
    _(
        "Si deseas consultar desde la aplicación los documentos electrónicos que tus proveedores "
        "te han emitido, diligencia la siguiente información. Ten en cuenta que con esta "
        "información estaremos accediendo a dicho correo, por lo tanto, te sugerimos que este sea "
        "destinado únicamente para recibir documentos electrónicos. Si no se tramitan todos los "
        "campos, no podrás consultar los documentos que recibas electrónicamente."
    ),
    _(
        "Si el Protocolo de Acceso de este correo es IMAP, crearemos una estructura de carpetas "
        "para facilitar el proceso de los documentos electrónicos, la cual no deberá ser "
        "eliminada."
    ),
    _(
        "Si el Protocolo de Acceso de este correo es POP3, necesitamos que nos facilites otro "
        "correo electrónico para respaldar toda la información."
    ),
)
SECURITY_NOTE = _(
    "Nota: Revisa que no se tengan espacios en los datos copiados para que la conexión no falle "
    "por error de datos."
)
EXPIRY_NOTE = _(
    "Si deseas que te notifiquemos cuando el secreto esté próximo a expirar, diligencia los "
    "siguientes datos. Nuestro sistema enviará una alerta al correo que definas, %(days)s días "
    "antes de la fecha diligenciada."
)
SWITCH_WARNING = _(
    "Con este cambio de Tipo de Servidor, todos los parámetros que tenías previamente "
    "diligenciados serán eliminados."
)
SPACES_HINT = _("Revisa que no se tengan espacios en los datos copiados.")

#: The connection's fields, in the guide's order (the admin's fieldset shows them the same way).
CONNECTION_FIELDS = [
    "server_type",
    "protocol",
    "host",
    "port",
    "security",
    "username",
    "backup_email",
]

#: Where a credential goes: change any of them and the stored secret or password is not kept,
#: it must be typed again (otherwise anyone who may edit the mailbox could send it elsewhere).
CREDENTIAL_BOUND_FIELDS = [
    "server_type",
    "protocol",
    "host",
    "port",
    "security",
    "username",
    "tenant_id",
    "client_id",
]

#: The guide's suggestions: "Nuestro sistema te sugerirá el valor del Servidor y Puerto".
SUGGESTED_HOSTS = {
    (ServerType.OUTLOOK_MODERN, Protocol.IMAP): "outlook.office365.com",
    (ServerType.OUTLOOK_MODERN, Protocol.POP3): "outlook.office365.com",
    (ServerType.OUTLOOK_BASIC, Protocol.IMAP): "outlook.office365.com",
    (ServerType.OUTLOOK_BASIC, Protocol.POP3): "outlook.office365.com",
    (ServerType.GMAIL, Protocol.IMAP): "imap.gmail.com",
    (ServerType.GMAIL, Protocol.POP3): "pop.gmail.com",
}
#: Types whose "Usuario" is an e-mail address; "Otro" servers may use any login name.
EMAIL_LOGIN_TYPES = (ServerType.OUTLOOK_MODERN, ServerType.OUTLOOK_BASIC, ServerType.GMAIL)

_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")

#: What a shell or PowerShell would interpret in the user printed in the diagnosis' commands:
#: ASCII and typographic quotes, `$`, backtick, brackets, separators and redirections.
_UNPLAIN_LOGIN = frozenset("'\"‘’‚‛“”„‟$`(){};|&<>")

#: Fields checked for spaces inside the value, whatever the server type.
_ALWAYS_PASTED = ("host", "username")
_SECRET_PASTED = ("secret", "secret_confirm", "notification_email")
_MODERN_PASTED = (
    "tenant_id",
    "tenant_id_confirm",
    "client_id",
    "client_id_confirm",
    "object_id",
    *_SECRET_PASTED,
)


def suggested_server(server_type: str, protocol: str, security: str) -> tuple[str, int | None]:
    """The host and port the guide suggests for this combination ('' / None when unknown)."""
    return SUGGESTED_HOSTS.get((server_type, protocol), ""), STANDARD_PORTS.get(
        (protocol, security)
    )


class PastedField(forms.CharField):
    """Text copied from a portal: surrounding spaces and line breaks are dropped.

    Spaces inside the value are reported by the form's clean(), which knows whether the field
    matters for the chosen server type (a hidden, stale field must not block the save).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 254)
        super().__init__(strip=True, **kwargs)


class SecretInput(forms.PasswordInput):
    """Never renders the value back, whatever happens to the form."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False
        )


#: Said next to a secret field that comes back empty after a failed validation: on purpose.
RETYPE_HINT = _(
    "Por seguridad, lo que escribiste aquí no se muestra de nuevo: vuelve a escribirlo antes de "
    "guardar."
)


def hint_secrets_to_retype(form: forms.BaseForm) -> None:
    """After errors, tell next to each secret typed why it is empty now (it is never rendered
    back: SecretInput), so the user retypes it instead of wondering."""
    if not form.is_bound or not form.errors:
        return
    for name, field in form.fields.items():
        if isinstance(field.widget, SecretInput) and form.data.get(form.add_prefix(name)):
            field.help_text = format_html(
                '<span class="retype-hint">{}</span> {}', RETYPE_HINT, field.help_text
            )
            form[name].help_text = field.help_text  # the bound field copied it when validating


def secret_value_field() -> PastedField:
    return PastedField(
        label=_("Secreto"),
        max_length=512,
        widget=SecretInput(),
        help_text=_(
            "El «Valor» del secreto de cliente (no su «Id. de secreto»), copiado en "
            "Certificados y secretos al crearlo."
        ),
    )


def secret_confirm_field() -> PastedField:
    return PastedField(label=_("Confirmar Secreto"), max_length=512, widget=SecretInput())


def secret_expiry_field() -> forms.DateField:
    return forms.DateField(
        label=_("Fecha Expiración"),
        required=False,
        # Django admin's calendar, in the active language's format (dd/mm/aaaa in es-CO), not
        # the browser's own date input, which follows the browser's locale.
        widget=AdminDateWidget(),
        help_text=_("La fecha en la que expira el secreto en Entra ID (dd/mm/aaaa)."),
    )


def notification_email_field() -> PastedField:
    return PastedField(
        label=_("Correo Notificación"),
        help_text=_("Te avisaremos a este correo antes de que el secreto expire."),
    )


class SecretRulesMixin:
    """The guide's rules for a client secret and its expiry notice.

    Shared by the configuration form and the rotation form (and so by the admin and both
    commands), so that every way of entering a secret refuses exactly the same input. The
    form using it declares the fields built by the `*_field()` functions above.
    """

    def _clean_secret(self, data: dict[str, Any], *, may_keep_current: bool) -> None:
        """A new secret's «Valor», typed twice; blank keeps the current one where allowed."""
        secret, repeated = data.get("secret"), data.get("secret_confirm")
        if secret is None:
            return  # already reported
        if not secret:
            if not may_keep_current:
                self.add_error("secret", forms.Field.default_error_messages["required"])
            elif repeated:
                self.add_error(
                    "secret_confirm", _("«Confirmar Secreto» no coincide con «Secreto».")
                )
            return
        try:
            validate_secret_value(secret)
        except ValidationError as error:
            self.add_error("secret", error)
            return
        if _as_guid(secret) is not None:
            self.add_error(
                "secret",
                _(
                    "Este valor tiene forma de GUID: es el «Id. de secreto», no el secreto. Copia "
                    "la columna «Valor» del secreto de cliente en Entra ID."
                ),
            )
            return
        if repeated is not None and repeated != secret:
            self.add_error("secret_confirm", _("«Confirmar Secreto» no coincide con «Secreto»."))

    def _clean_expiry(self, data: dict[str, Any], *, stored: datetime.date | None) -> None:
        """A date being set must lie ahead (Bogotá), and someone must be told before it."""
        expires_on = data.get("secret_expires_on")
        if expires_on is None:
            return
        # An untouched date of the current secret may lie in the past: it is not being set now.
        if (data.get("secret") or expires_on != stored) and expires_on <= bogota_today():
            self.add_error(
                "secret_expires_on",
                _("La Fecha Expiración debe ser posterior a hoy (%(today)s).")
                % {"today": date_format(bogota_today(), "SHORT_DATE_FORMAT")},
            )
        if "notification_email" in data and not data["notification_email"]:
            self.add_error(
                "notification_email",
                _("Con una Fecha Expiración indica el Correo Notificación para avisarte."),
            )
        elif data.get("notification_email"):
            self._require_email(data, "notification_email")

    def _reject_spaces(self, data: dict[str, Any], name: str) -> None:
        value = data.get(name)
        if isinstance(value, str) and any(char.isspace() for char in value):
            self.add_error(
                name,
                _("«%(field)s» tiene espacios dentro del valor. %(hint)s")
                % {"field": self.fields[name].label, "hint": SPACES_HINT},
            )

    def _require_email(self, data: dict[str, Any], name: str) -> bool:
        try:
            validate_email(data[name])
        except ValidationError:
            self.add_error(
                name,
                _("«%(field)s» debe ser un correo electrónico válido.")
                % {"field": self.fields[name].label},
            )
            return False
        return True


class MailboxConfigurationForm(SecretRulesMixin, forms.ModelForm):
    """Correo Recepción de Documentos Electrónicos: the guide's fields and validations."""

    server_type = forms.ChoiceField(
        label=_("Tipo de Servidor"),
        choices=BLANK_CHOICE_DASH + ServerType.choices,
        help_text=_(
            "Para cuentas empresariales de Microsoft usa «Outlook autenticación moderna». "
            "Cambiarlo en un correo ya configurado elimina todos los parámetros anteriores."
        ),
    )
    protocol = forms.ChoiceField(
        label=_("Protocolo de Acceso"),
        choices=BLANK_CHOICE_DASH + Protocol.choices,
        help_text=_("IMAP (recomendado) o POP3. Con POP3 se requiere un correo de respaldo."),
        widget=forms.Select(
            attrs={
                "data-suggested-hosts": json.dumps(
                    {f"{t}:{p}": host for (t, p), host in SUGGESTED_HOSTS.items()}
                ),
                "data-suggested-ports": json.dumps(
                    {f"{p}:{s}": port for (p, s), port in STANDARD_PORTS.items()}
                ),
            }
        ),
    )
    host = PastedField(
        label=_("Servidor"),
        max_length=253,
        help_text=_(
            "Te sugerimos el servidor según el tipo y el protocolo (outlook.office365.com para "
            "Outlook); puedes cambiarlo. Verifica que sea correcto."
        ),
    )
    port = forms.IntegerField(
        label=_("Puerto"),
        required=False,
        min_value=1,
        max_value=65535,
        help_text=_("993 para IMAP, 995 para POP3 (sugerido, puedes cambiarlo)."),
    )
    security = forms.ChoiceField(
        label=_("Protocolo de Seguridad"),
        choices=Security.choices,
        required=False,
        initial=Security.SSL,
        help_text=_("SSL/TLS salvo que tu proveedor indique STARTTLS."),
    )
    username = PastedField(
        label=_("Usuario"),
        required=True,
        help_text=_("El correo electrónico del buzón de recepción."),
    )
    backup_email = PastedField(
        label=_("Correo de respaldo"),
        help_text=_(
            "Solo para POP3: otro correo electrónico, distinto del Usuario, donde respaldamos "
            "toda la información."
        ),
    )
    password = forms.CharField(
        label=_("Contraseña"),
        required=False,
        strip=True,
        max_length=512,
        widget=SecretInput(),
        help_text=_("La contraseña del buzón (autenticación básica)."),
    )
    tenant_id = PastedField(
        label=_("Id. Tenant"),
        help_text=_(
            "El «Id. de directorio (inquilino)» copiado desde la ventana de registro de la "
            "aplicación en Entra ID."
        ),
    )
    tenant_id_confirm = PastedField(label=_("Confirmar Id. Tenant"))
    client_id = PastedField(
        label=_("Id. Aplicación"),
        help_text=_(
            "El «Id. de aplicación (cliente)» copiado desde la ventana de registro de la "
            "aplicación en Entra ID."
        ),
    )
    client_id_confirm = PastedField(label=_("Confirmar Id. Aplicación"))
    secret = secret_value_field()
    secret_confirm = secret_confirm_field()
    object_id = PastedField(
        label=_("Id. de objeto"),
        help_text=_(
            "Opcional. El Id. de objeto de la aplicación en «Aplicaciones empresariales»; con él "
            "te mostramos los comandos de PowerShell del diagnóstico."
        ),
    )
    secret_expires_on = secret_expiry_field()
    notification_email = notification_email_field()

    class Meta:
        model = ReceptionMailbox
        fields = [
            *CONNECTION_FIELDS,
            "password",
            "tenant_id",
            "client_id",
            "object_id",
        ]
        # Validation writes onto the instance it was handed; the stored password must stay there
        # untouched (the declared `password` field still exists, it is only not copied).
        exclude = ["password"]  # noqa: DJ006

    class Media:
        js = ["reception/mailbox_form.js"]

    #: Errors found after validation by the service (the DNS rule, which needs the network that
    #: clean() never uses), added to the form's own so the page shows them on their field.
    service_errors: dict[str, list[str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        # Remembered before validation: ModelForm writes the submitted values onto the instance.
        self.stored_server_type: str = instance.server_type if instance.pk else ""
        self.stored_connection: dict[str, Any] = (
            {name: getattr(instance, name) for name in CREDENTIAL_BOUND_FIELDS}
            if instance.pk
            else {}
        )
        self.has_stored_password = bool(instance.pk and instance.password)
        self.current_secret: Secret | None = instance.current_secret if instance.pk else None
        if instance.pk:
            self.initial.setdefault("tenant_id_confirm", instance.tenant_id)
            self.initial.setdefault("client_id_confirm", instance.client_id)
        if self.current_secret is not None:
            self.initial.setdefault("secret_expires_on", self.current_secret.expires_on)
            self.initial.setdefault("notification_email", self.current_secret.notification_email)
            self.fields["secret"].help_text = _(
                "Ya hay un secreto configurado (%(state)s). Déjalo en blanco para conservarlo "
                "mientras no cambies los datos de conexión (tipo de servidor, protocolo, "
                "servidor, puerto, seguridad, usuario, Id. Tenant, Id. Aplicación); si cambias "
                "alguno, escríbelo de nuevo. Para reemplazarlo, escribe el «Valor» de un secreto "
                "nuevo."
            ) % {"state": secret_state(self.current_secret)}
        if self.has_stored_password:
            self.fields["password"].help_text = _(
                "Hay una contraseña guardada. Déjala en blanco para conservarla mientras no "
                "cambies los datos de conexión (tipo de servidor, protocolo, servidor, puerto, "
                "seguridad, usuario); si cambias alguno, escríbela de nuevo. Para reemplazarla, "
                "escribe una nueva."
            )

    @property
    def switches_server_type(self) -> bool:
        """True when a configured mailbox would change type: that wipes its parameters."""
        new_type = self.cleaned_data.get("server_type") if hasattr(self, "cleaned_data") else None
        return bool(self.stored_server_type and new_type and new_type != self.stored_server_type)

    def full_clean(self) -> None:
        super().full_clean()
        hint_secrets_to_retype(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        server_type, protocol = data.get("server_type"), data.get("protocol")
        data["security"] = data.get("security") or Security.SSL
        for name in _ALWAYS_PASTED:
            self._reject_spaces(data, name)
        self._require_plain_login(data)
        if not server_type or not protocol:
            return data
        self._suggest_server(data, server_type, protocol)
        if server_type in EMAIL_LOGIN_TYPES and data.get("username"):
            self._require_email(data, "username")
        if server_type == ServerType.OUTLOOK_MODERN:
            self._clean_modern(data)
        else:
            self._clean_basic(data)
        self._clean_backup(data, protocol)
        self._clean_destination(data, server_type)
        for name, messages in self.service_errors.items():
            for message in messages:
                self.add_error(name, message)
        return data

    # --- Parts of clean() -----------------------------------------------------------------

    def _suggest_server(self, data: dict[str, Any], server_type: str, protocol: str) -> None:
        host, port = suggested_server(server_type, protocol, data["security"])
        if "host" in data and not data["host"]:
            if host:
                data["host"] = host
            else:
                self.add_error("host", _("Indica el servidor de tu proveedor de correo."))
        if "host" in data and data["host"] and not _HOSTNAME.match(data["host"]):
            self.add_error(
                "host",
                _("Escribe solo el nombre del servidor, por ejemplo outlook.office365.com."),
            )
        if "port" in data and data["port"] is None:
            data["port"] = port

    def _clean_modern(self, data: dict[str, Any]) -> None:
        for name in _MODERN_PASTED:
            self._reject_spaces(data, name)
        tenant = self._clean_confirmed_guid(data, "tenant_id", "tenant_id_confirm")
        client = self._clean_confirmed_guid(data, "client_id", "client_id_confirm")
        if tenant and client and tenant == client:
            self.add_error(
                "client_id",
                _(
                    "El Id. Aplicación es igual al Id. Tenant: parece que pegaste el mismo valor "
                    "dos veces. El Id. Tenant es el «Id. de directorio (inquilino)» y el "
                    "Id. Aplicación es el «Id. de aplicación (cliente)»."
                ),
            )
        self._clean_object_id(data, tenant, client)
        changed = self._changed_connection(data)
        if changed and self.current_secret is not None and data.get("secret") == "":
            self.add_error(
                "secret",
                _(
                    "Cambiaste %(fields)s: escribe de nuevo el secreto. El guardado solo se "
                    "envía a la conexión para la que se escribió."
                )
                % {"fields": self._labels(changed)},
            )
        else:
            self._clean_secret(
                data,
                may_keep_current=self.current_secret is not None and not self.switches_server_type,
            )
        self._clean_expiry(
            data, stored=self.current_secret.expires_on if self.current_secret else None
        )
        data["password"] = ""

    def _clean_basic(self, data: dict[str, Any]) -> None:
        changed = self._changed_connection(data)
        if not data.get("password") and changed and self.has_stored_password:
            self.add_error(
                "password",
                _(
                    "Cambiaste %(fields)s: escribe de nuevo la contraseña. La guardada solo se "
                    "envía a la conexión para la que se escribió."
                )
                % {"fields": self._labels(changed)},
            )
        elif not data.get("password") and (
            self.switches_server_type or not self.has_stored_password
        ):
            self.add_error("password", forms.Field.default_error_messages["required"])
        for name in ("tenant_id", "client_id", "object_id", "secret_expires_on"):
            data[name] = None
        for name in ("tenant_id_confirm", "client_id_confirm", "secret", "secret_confirm"):
            data[name] = ""
        data["notification_email"] = ""

    def _changed_connection(self, data: dict[str, Any]) -> list[str]:
        """The credential-bound fields whose new value differs from the stored one.

        Called once the type's own fields are cleaned (tenant and application are GUIDs by then);
        a field whose value was refused is left to its own error.
        """
        if not self.stored_connection:
            return []
        modern = data.get("server_type") == ServerType.OUTLOOK_MODERN
        return [
            name
            for name in CREDENTIAL_BOUND_FIELDS
            if (modern or name not in ("tenant_id", "client_id"))
            and data.get(name) is not None
            and data[name] != self.stored_connection[name]
        ]

    def _labels(self, names: list[str]) -> str:
        return ", ".join(f"«{self.fields[name].label}»" for name in names)

    def _clean_destination(self, data: dict[str, Any], server_type: str) -> None:
        """The destination rules that need no network; the DNS one runs in the service."""
        host, port = data.get("host"), data.get("port")
        if not host or not port or self.has_error("host") or self.has_error("port"):
            return
        refusal = static_refusal(server_type=server_type, host=host, port=port)
        if refusal is not None:
            self.add_error(refusal.field, refusal_message(refusal))

    def _clean_backup(self, data: dict[str, Any], protocol: str) -> None:
        if protocol != Protocol.POP3:
            data["backup_email"] = ""
            return
        self._reject_spaces(data, "backup_email")
        backup = data.get("backup_email")
        if backup == "":
            self.add_error(
                "backup_email",
                _("Con POP3 es obligatorio un correo de respaldo, distinto del Usuario."),
            )
        elif (
            backup
            and self._require_email(data, "backup_email")
            and backup.casefold() == (data.get("username") or "").casefold()
        ):
            self.add_error(
                "backup_email",
                _("El correo de respaldo debe ser distinto del Usuario del buzón."),
            )

    def _clean_confirmed_guid(
        self, data: dict[str, Any], name: str, confirm: str
    ) -> uuid.UUID | None:
        value, repeated = data.get(name), data.get(confirm)
        if value is None:
            return None  # already reported (spaces or too long)
        if not value:
            self.add_error(name, forms.Field.default_error_messages["required"])
            return None
        guid = self._parse_guid(name, value)
        if guid is None:
            return None
        if repeated is not None and _as_guid(repeated) != guid:
            self.add_error(
                confirm,
                _("«%(confirm)s» no coincide con «%(field)s».")
                % {"confirm": self.fields[confirm].label, "field": self.fields[name].label},
            )
        data[name] = guid
        return guid

    def _clean_object_id(
        self, data: dict[str, Any], tenant: uuid.UUID | None, client: uuid.UUID | None
    ) -> None:
        value = data.get("object_id")
        if not value:
            data["object_id"] = None
            return
        guid = self._parse_guid("object_id", value)
        if guid is not None and guid in (tenant, client):
            self.add_error(
                "object_id",
                _(
                    "El Id. de objeto es el de la ventana «Aplicaciones empresariales»; no es el "
                    "Id. Tenant ni el Id. Aplicación."
                ),
            )
        data["object_id"] = guid

    # --- Small checks ---------------------------------------------------------------------

    def _require_plain_login(self, data: dict[str, Any]) -> None:
        """The user is pasted into PowerShell lines: a quoted address may carry code.

        For every server type, «Otro» included; spaces have their own message.
        """
        username = data.get("username") or ""
        found = list(dict.fromkeys(char for char in username if char in _UNPLAIN_LOGIN))
        shown = [f"«{char}»" for char in found]
        if any(unicodedata.category(char)[0] == "C" and not char.isspace() for char in username):
            shown.append(str(_("un carácter de control")))
        if shown:
            self.add_error(
                "username",
                _(
                    "«%(field)s» no admite comillas, $, `, paréntesis, llaves, ;, |, &, <, >, "
                    "espacios ni caracteres de control (tiene %(found)s). Escribe solo el usuario "
                    "del buzón, por ejemplo recepcion@tuempresa.com."
                )
                % {"field": self.fields["username"].label, "found": ", ".join(shown)},
            )

    def _parse_guid(self, name: str, value: str) -> uuid.UUID | None:
        guid = _as_guid(value)
        if guid is None:
            self.add_error(
                name,
                _(
                    "«%(field)s» debe ser un GUID como 00000000-0000-0000-0000-000000000000, "
                    "copiado completo."
                )
                % {"field": self.fields[name].label},
            )
        return guid


class SecretRotationForm(SecretRulesMixin, forms.Form):
    """«Actualizar secreto»: a new secret for the same Entra ID application.

    The guide's "Actualización de secreto en aplicación existente" from our side; the same
    rules as the configuration form, but a secret is always required and its date is new.
    """

    secret = secret_value_field()
    secret_confirm = secret_confirm_field()
    secret_expires_on = secret_expiry_field()
    notification_email = notification_email_field()

    def full_clean(self) -> None:
        super().full_clean()
        hint_secrets_to_retype(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in _SECRET_PASTED:
            self._reject_spaces(data, name)
        self._clean_secret(data, may_keep_current=False)
        self._clean_expiry(data, stored=None)
        return data


def _as_guid(value: str) -> uuid.UUID | None:
    return uuid.UUID(value) if GUID.match(value or "") else None


def bogota_today() -> datetime.date:
    """Today in the project's time zone (America/Bogota), which decides "in the future"."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def secret_state(secret: Secret) -> str:
    """A secret described without its value: when it was set and when it expires."""
    state = _("configurado el %(date)s") % {
        "date": date_format(timezone.localtime(secret.created_at), "SHORT_DATE_FORMAT")
    }
    if secret.expires_on:
        state += ", " + _("expira el %(date)s") % {
            "date": date_format(secret.expires_on, "SHORT_DATE_FORMAT")
        }
    return state


def expiry_note() -> str:
    return EXPIRY_NOTE % {"days": settings.RECEPTION_SECRET_WARNING_DAYS}
