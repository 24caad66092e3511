"""The configuration form on its own: the guide's validations, fast, without HTTP."""

import datetime
import uuid

import pytest
import time_machine
from django.contrib.admin.widgets import AdminDateWidget
from django.utils import timezone, translation

from reception.forms import (
    RETYPE_HINT,
    MailboxConfigurationForm,
    PastedField,
    SecretInput,
    bogota_today,
    notification_email_field,
    secret_confirm_field,
    secret_expiry_field,
    secret_state,
    secret_value_field,
    suggested_server,
)
from reception.models import ReceptionMailbox, Secret
from tests.factories.mailboxes import make_mailbox
from tests.reception.mailbox_data import (
    CLIENT,
    INVALID_CASES,
    NEW_SECRET,
    OBJECT,
    OTHER_GUID,
    PASSWORD,
    SECRET,
    TENANT,
    USERNAME,
    basic,
    modern,
    typed_twice,
)


def form_for(values, instance=None):
    return MailboxConfigurationForm(typed_twice(values), instance=instance)


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [case[1:] for case in INVALID_CASES],
    ids=[c[0] for c in INVALID_CASES],
)
def test_it_refuses_what_the_guide_warns_about(db, values, field, words):
    form = form_for(values)
    assert not form.is_valid()
    assert any(words in message for message in form.errors.get(field, [])), form.errors


def test_it_accepts_a_modern_configuration(db):
    form = form_for(modern())
    assert form.is_valid(), form.errors
    assert form.cleaned_data["tenant_id"] == uuid.UUID(TENANT)
    assert form.cleaned_data["client_id"] == uuid.UUID(CLIENT)
    assert form.cleaned_data["secret"] == SECRET
    assert form.cleaned_data["password"] == ""


def test_it_removes_surrounding_spaces_and_line_breaks(db):
    form = form_for(
        modern(
            tenant_id=f"\r\n  {TENANT}\t\n",
            tenant_id_confirm=f"{TENANT}\n",
            client_id=f" {CLIENT.upper()} ",
            client_id_confirm=CLIENT,
            secret=f"{SECRET}\r\n",
            secret_confirm=f"  {SECRET}",
            username=" recepcion@andina.example.test\n",
        )
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["tenant_id"] == uuid.UUID(TENANT)
    assert form.cleaned_data["client_id"] == uuid.UUID(CLIENT)
    assert form.cleaned_data["secret"] == SECRET
    assert form.cleaned_data["username"] == "recepcion@andina.example.test"


def test_it_names_the_field_that_has_spaces(db):
    form = form_for(modern(client_id="f6574713 -3af8-43d6-89da-c3769e620b12"))
    assert not form.is_valid()
    assert form.errors["client_id"] == [
        "«Id. Aplicación» tiene espacios dentro del valor. "
        "Revisa que no se tengan espacios en los datos copiados."
    ]


@pytest.mark.parametrize(
    ("server_type", "protocol", "security", "host", "port"),
    [
        ("outlook_modern", "imap", "ssl", "outlook.office365.com", 993),
        ("outlook_modern", "pop3", "ssl", "outlook.office365.com", 995),
        ("outlook_basic", "imap", "ssl", "outlook.office365.com", 993),
        ("outlook_basic", "pop3", "ssl", "outlook.office365.com", 995),
        ("gmail", "imap", "ssl", "imap.gmail.com", 993),
        ("gmail", "pop3", "ssl", "pop.gmail.com", 995),
        ("gmail", "imap", "starttls", "imap.gmail.com", 143),
    ],
)
def test_it_suggests_server_and_port(db, server_type, protocol, security, host, port):
    maker = modern if server_type == "outlook_modern" else basic
    values = maker(server_type=server_type, protocol=protocol, security=security, host="", port="")
    if protocol == "pop3":
        values["backup_email"] = "respaldo@andina.example.test"
    form = form_for(values)
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["host"], form.cleaned_data["port"]) == (host, port)


def test_it_keeps_the_server_and_port_the_user_typed(db, settings):
    settings.RECEPTION_ALLOWED_MAIL_HOSTS = ["mail.andina.example.test:10993"]  # a lab server
    form = form_for(modern(host="mail.andina.example.test", port=10993))
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["host"], form.cleaned_data["port"]) == (
        "mail.andina.example.test",
        10993,
    )


def test_it_defaults_the_security_protocol_to_ssl(db):
    form = form_for(modern(security=""))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["security"] == "ssl"


def test_it_accepts_pop3_with_a_different_backup_email(db):
    form = form_for(modern(protocol="pop3", port=995, backup_email="respaldo@andina.example.test"))
    assert form.is_valid(), form.errors


def test_it_ignores_the_backup_email_for_imap(db):
    form = form_for(modern(backup_email="not an e-mail"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["backup_email"] == ""


def test_it_ignores_stale_modern_fields_for_basic_auth(db):
    """Fields the page hides for basic auth must not block the save, nor be saved."""
    stale = basic(
        tenant_id="junk junk",
        client_id="x",
        object_id="y",
        secret=OTHER_SECRET_ID,
        secret_expires_on="2030-01-01",
        notification_email="ti@andina.test",
    )
    form = form_for(stale)
    assert form.is_valid(), form.errors
    cleaned = form.cleaned_data
    assert [cleaned[n] for n in ("tenant_id", "client_id", "object_id", "secret_expires_on")] == [
        None
    ] * 4
    emptied = ("tenant_id_confirm", "client_id_confirm", "secret", "secret_confirm")
    assert [cleaned[n] for n in (*emptied, "notification_email")] == [""] * 5


def test_it_explains_a_tenant_pasted_as_the_application(db):
    form = form_for(modern(client_id=TENANT))
    assert not form.is_valid()
    assert form.errors["client_id"] == [
        "El Id. Aplicación es igual al Id. Tenant: parece que pegaste el mismo valor dos veces. "
        "El Id. Tenant es el «Id. de directorio (inquilino)» y el Id. Aplicación es el "
        "«Id. de aplicación (cliente)»."
    ]


OTHER_SECRET_ID = "c63febe2-17e0-4939-a2c7-b0878e2f88b9"


@time_machine.travel(datetime.datetime(2026, 3, 10, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_it_judges_the_expiry_date_by_bogota_time(db):
    """At 02:00 UTC on 10 March it is still 9 March in Bogotá (UTC-5): the 10th is the future."""
    assert form_for(modern(secret_expires_on="2026-03-10")).is_valid()
    form = form_for(modern(secret_expires_on="2026-03-09"))
    assert not form.is_valid()
    assert "secret_expires_on" in form.errors


def test_it_lets_an_expiry_date_go_without_notification_when_empty(db):
    form = form_for(modern(secret_expires_on="", notification_email=""))
    assert form.is_valid(), form.errors


def test_it_keeps_the_current_secret_when_left_blank(org_a):
    mailbox = make_mailbox(
        org_a, username=USERNAME, tenant_id=uuid.UUID(TENANT), client_id=uuid.UUID(CLIENT)
    )
    form = form_for(modern(secret="", secret_confirm=""), instance=mailbox)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["secret"] == ""


def test_it_shows_that_a_secret_is_configured_without_its_value(org_a):
    mailbox = make_mailbox(org_a, secret=SECRET, expires_on=datetime.date(2027, 2, 24))
    form = MailboxConfigurationForm(instance=mailbox)
    assert "Ya hay un secreto configurado" in str(form.fields["secret"].help_text)
    assert "24/02/2027" in str(form.fields["secret"].help_text)
    assert SECRET not in form.as_div()


def test_it_accepts_an_untouched_past_expiry_of_the_current_secret(org_a):
    mailbox = make_mailbox(org_a, username=USERNAME, expires_on=datetime.date(2020, 1, 31))
    values = modern(
        tenant_id=str(mailbox.tenant_id),
        client_id=str(mailbox.client_id),
        secret="",
        secret_expires_on="2020-01-31",
    )
    assert form_for(values, instance=mailbox).is_valid()
    values["secret"] = NEW_SECRET
    form = form_for(values, instance=mailbox)
    assert not form.is_valid()
    assert "secret_expires_on" in form.errors


def test_it_refuses_moving_the_current_secrets_expiry_into_the_past(org_a):
    """Only an untouched date may lie in the past; a date being set now must lie ahead."""
    mailbox = make_mailbox(org_a, expires_on=datetime.date.today() + datetime.timedelta(days=90))
    values = modern(
        tenant_id=str(mailbox.tenant_id),
        client_id=str(mailbox.client_id),
        secret="",
        secret_expires_on=(datetime.date.today() - datetime.timedelta(days=2)).isoformat(),
    )
    form = form_for(values, instance=mailbox)
    assert not form.is_valid()
    assert "posterior a hoy" in form.errors["secret_expires_on"][0]


def test_it_keeps_the_stored_password_when_left_blank(org_a):
    mailbox = make_mailbox(
        org_a, server_type="outlook_basic", username=USERNAME, password=PASSWORD, secret=""
    )
    form = form_for(basic(password=""), instance=mailbox)
    assert form.is_valid(), form.errors
    mailbox.refresh_from_db()
    assert mailbox.password == PASSWORD


def test_it_wants_new_credentials_when_the_type_changes(org_a):
    """The switch wipes the stored password and secrets: keeping them is not an option."""
    gmail = make_mailbox(org_a, server_type="gmail", password=PASSWORD, secret="")
    form = form_for(basic(password=""), instance=gmail)
    assert not form.is_valid()
    assert form.switches_server_type
    assert "password" in form.errors


def test_it_tells_when_the_type_changes(org_a):
    mailbox = make_mailbox(
        org_a, username=USERNAME, tenant_id=uuid.UUID(TENANT), client_id=uuid.UUID(CLIENT)
    )
    switch = form_for(basic(), instance=ReceptionMailbox.objects.get(pk=mailbox.pk))
    assert switch.is_valid(), switch.errors
    assert switch.switches_server_type
    same = form_for(modern(secret=""), instance=ReceptionMailbox.objects.get(pk=mailbox.pk))
    assert same.is_valid(), same.errors
    assert not same.switches_server_type
    new = form_for(modern(), instance=ReceptionMailbox(organization=org_a))
    assert new.is_valid()
    assert not new.switches_server_type


def test_it_never_renders_the_secret_or_password_back(db):
    form = form_for(modern(secret=SECRET, tenant_id_confirm=CLIENT, password=PASSWORD))
    assert not form.is_valid()
    html = form.as_div()
    assert SECRET not in html
    assert PASSWORD not in html


# --- The shared fields, as built (the forms build them once, when the module is imported) ------


def test_a_pasted_field_is_optional_short_and_drops_surrounding_blanks():
    field = PastedField(label="Id. Tenant")
    assert (field.required, field.max_length, field.strip) == (False, 254, True)
    assert field.clean("  abc\r\n") == "abc"
    assert field.clean("") == ""
    assert (
        PastedField(required=True, max_length=10).required,
        PastedField(max_length=10).max_length,
    ) == (True, 10)


def test_a_secret_input_never_renders_its_value_and_keeps_other_attributes():
    widget = SecretInput(attrs={"id": "x"})
    html = widget.render("secret", "s3cr3t-value")
    assert "s3cr3t-value" not in html
    assert widget.attrs == {"autocomplete": "new-password", "id": "x"}
    assert SecretInput().attrs == {"autocomplete": "new-password"}


def test_the_secret_fields_carry_the_guide_s_names_and_never_show_the_secret():
    value, confirm = secret_value_field(), secret_confirm_field()
    assert (value.label, value.max_length, value.required) == ("Secreto", 512, False)
    assert value.help_text == (
        "El «Valor» del secreto de cliente (no su «Id. de secreto»), copiado en "
        "Certificados y secretos al crearlo."
    )
    assert (confirm.label, confirm.max_length, confirm.required) == (
        "Confirmar Secreto",
        512,
        False,
    )
    for field in (value, confirm):
        assert isinstance(field, PastedField)
        assert isinstance(field.widget, SecretInput)
        assert "s3cr3t-value" not in field.widget.render("secret", "s3cr3t-value")


def test_the_expiry_field_is_an_optional_date_in_the_admins_calendar():
    """Django admin's calendar in dd/mm/aaaa, not the browser's date input and its locale."""
    field = secret_expiry_field()
    assert (field.label, field.required) == ("Fecha Expiración", False)
    assert field.help_text == "La fecha en la que expira el secreto en Entra ID (dd/mm/aaaa)."
    assert isinstance(field.widget, AdminDateWidget)
    with translation.override("es-co"):
        assert 'value="04/03/2026"' in field.widget.render("expiry", datetime.date(2026, 3, 4))


def test_the_notification_field_says_what_it_is_for():
    field = notification_email_field()
    assert isinstance(field, PastedField)
    assert (field.label, field.required, field.max_length) == ("Correo Notificación", False, 254)
    assert field.help_text == "Te avisaremos a este correo antes de que el secreto expire."


# --- Every identifier problem in the words the page shows -----------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (modern(tenant_id=""), "tenant_id", "Este campo es obligatorio."),
        (
            modern(tenant_id_confirm=CLIENT),
            "tenant_id_confirm",
            "«Confirmar Id. Tenant» no coincide con «Id. Tenant».",
        ),
        (
            modern(client_id="abc"),
            "client_id",
            "«Id. Aplicación» debe ser un GUID como 00000000-0000-0000-0000-000000000000, "
            "copiado completo.",
        ),
        (
            modern(object_id=TENANT),
            "object_id",
            "El Id. de objeto es el de la ventana «Aplicaciones empresariales»; no es el "
            "Id. Tenant ni el Id. Aplicación.",
        ),
    ],
    ids=["tenant_missing", "tenant_confirm_differs", "client_not_guid", "object_is_tenant"],
)
def test_it_explains_each_identifier_problem_in_full(db, values, field, message):
    form = form_for(values)
    assert not form.is_valid()
    assert form.errors[field] == [message]


def test_it_keeps_the_identifiers_as_guids_and_no_object_as_none(db):
    form = form_for(modern(password="una-clave-vieja"))
    assert form.is_valid(), form.errors
    cleaned = form.cleaned_data
    assert (cleaned["tenant_id"], cleaned["client_id"], cleaned["object_id"]) == (
        uuid.UUID(TENANT),
        uuid.UUID(CLIENT),
        uuid.UUID(OBJECT),
    )
    assert cleaned["password"] == ""  # a password left from basic auth is not kept
    without_object = form_for(modern(object_id=""))
    assert without_object.is_valid(), without_object.errors
    assert without_object.cleaned_data["object_id"] is None


def test_a_secret_is_described_by_its_dates_in_bogota_never_its_value():
    set_at = datetime.datetime(2026, 3, 5, 3, 0, tzinfo=datetime.UTC)  # 4 March, 22:00 in Bogotá
    assert secret_state(Secret(created_at=set_at, expires_on=datetime.date(2026, 9, 1))) == (
        "configurado el 04/03/2026, expira el 01/09/2026"
    )
    assert secret_state(Secret(created_at=set_at, expires_on=None)) == "configurado el 04/03/2026"


def test_today_is_bogota_s_whatever_time_zone_is_active():
    late_evening = datetime.datetime(2026, 3, 5, 3, 0, tzinfo=datetime.UTC)
    with time_machine.travel(late_evening), timezone.override("UTC"):
        assert bogota_today() == datetime.date(2026, 3, 4)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            basic(server_type="other", host=""),
            "host",
            "Indica el servidor de tu proveedor de correo.",
        ),
        (
            basic(host="https://outlook.office365.com"),
            "host",
            "Escribe solo el nombre del servidor, por ejemplo outlook.office365.com.",
        ),
        (
            modern(protocol="pop3", port=995),
            "backup_email",
            "Con POP3 es obligatorio un correo de respaldo, distinto del Usuario.",
        ),
        (
            modern(protocol="pop3", port=995, backup_email=USERNAME.upper()),
            "backup_email",
            "El correo de respaldo debe ser distinto del Usuario del buzón.",
        ),
    ],
    ids=["host_missing", "host_is_a_url", "pop3_without_backup", "backup_is_the_username"],
)
def test_it_explains_each_server_problem_in_full(db, values, field, message):
    form = form_for(values)
    assert not form.is_valid()
    assert message in form.errors[field]


def test_it_shows_what_the_service_found_on_the_field_it_concerns(db):
    refused = {"host": ["El servidor resuelve a una dirección que no es pública."]}
    form_class = type("Refused", (MailboxConfigurationForm,), {"service_errors": refused})
    form = form_class(typed_twice(basic()))
    assert not form.is_valid()
    assert form.errors["host"] == ["El servidor resuelve a una dirección que no es pública."]


def test_a_server_type_without_a_protocol_stops_before_the_type_s_rules(db):
    form = form_for(basic(protocol="", password=""))
    assert not form.is_valid()
    assert "password" not in form.errors


def test_it_suggests_no_server_it_does_not_know_as_an_empty_name():
    assert suggested_server("other", "imap", "ssl") == ("", 993)


def test_editing_a_mailbox_shows_its_identifiers_confirmed_and_its_secrets_notice(org_a):
    """Opening a configured mailbox, the admin sees the confirmations already matching and the
    current secret's expiry and notification address: only what changes is typed."""
    mailbox = make_mailbox(
        org_a,
        tenant_id=uuid.UUID(TENANT),
        client_id=uuid.UUID(CLIENT),
        expires_on=datetime.date(2027, 2, 24),
        notification_email="avisos@andina.test",
    )

    form = MailboxConfigurationForm(instance=mailbox)

    assert form["tenant_id_confirm"].value() == uuid.UUID(TENANT)
    assert form["client_id_confirm"].value() == uuid.UUID(CLIENT)
    assert form["secret_expires_on"].value() == datetime.date(2027, 2, 24)
    assert form["notification_email"].value() == "avisos@andina.test"


def test_a_new_mailbox_starts_with_nothing_to_confirm(org_a):
    form = MailboxConfigurationForm(instance=ReceptionMailbox(organization=org_a))

    for name in ("tenant_id_confirm", "client_id_confirm", "secret_expires_on"):
        assert form[name].value() is None, name
    assert "Ya hay" not in str(form.fields["secret"].help_text)
    assert "Hay una contraseña" not in str(form.fields["password"].help_text)


def test_a_configured_secret_says_when_it_must_be_typed_again(org_a):
    mailbox = make_mailbox(org_a, secret=SECRET, expires_on=datetime.date(2027, 2, 24))
    state = secret_state(mailbox.current_secret)

    help_text = str(MailboxConfigurationForm(instance=mailbox).fields["secret"].help_text)

    assert help_text == (
        f"Ya hay un secreto configurado ({state}). Déjalo en blanco para conservarlo mientras "
        "no cambies los datos de conexión (tipo de servidor, protocolo, servidor, puerto, "
        "seguridad, usuario, Id. Tenant, Id. Aplicación); si cambias alguno, escríbelo de "
        "nuevo. Para reemplazarlo, escribe el «Valor» de un secreto nuevo."
    )


def test_a_saved_password_says_when_it_must_be_typed_again(org_a, org_b):
    basic_mailbox = make_mailbox(
        org_a, server_type="outlook_basic", username=USERNAME, password=PASSWORD, secret=""
    )
    modern_mailbox = make_mailbox(org_b, secret=SECRET)

    help_text = str(MailboxConfigurationForm(instance=basic_mailbox).fields["password"].help_text)
    without = str(MailboxConfigurationForm(instance=modern_mailbox).fields["password"].help_text)

    assert help_text == (
        "Hay una contraseña guardada. Déjala en blanco para conservarla mientras no cambies los "
        "datos de conexión (tipo de servidor, protocolo, servidor, puerto, seguridad, usuario); "
        "si cambias alguno, escríbela de nuevo. Para reemplazarla, escribe una nueva."
    )
    assert "Hay una contraseña" not in without


MISMATCH = "«Confirmar Secreto» no coincide con «Secreto»."


def test_a_confirmation_typed_without_a_new_secret_is_a_mismatch(org_a):
    """Keeping the current secret means leaving both blank: a lone confirmation was meant for
    a new secret whose «Valor» is missing."""
    mailbox = make_mailbox(
        org_a, username=USERNAME, tenant_id=uuid.UUID(TENANT), client_id=uuid.UUID(CLIENT)
    )

    form = form_for(modern(secret="", secret_confirm=NEW_SECRET), instance=mailbox)

    assert not form.is_valid()
    assert form.errors == {"secret_confirm": [MISMATCH]}


def test_a_secret_typed_differently_twice_is_a_mismatch(db):
    form = form_for(modern(secret=SECRET, secret_confirm=NEW_SECRET))

    assert not form.is_valid()
    assert form.errors == {"secret_confirm": [MISMATCH]}


def test_a_secret_id_pasted_as_the_secret_is_explained(db):
    form = form_for(modern(secret=OTHER_GUID))

    assert not form.is_valid()
    assert form.errors["secret"] == [
        "Este valor tiene forma de GUID: es el «Id. de secreto», no el secreto. Copia la columna "
        "«Valor» del secreto de cliente en Entra ID."
    ]


def test_after_an_error_each_secret_typed_says_to_type_it_again(db):
    """The page comes back without the secrets typed (never rendered back): next to each one
    typed, and only those, the form says why it is empty."""
    values = modern(tenant_id="no-es-un-guid", tenant_id_confirm="no-es-un-guid")
    form = MailboxConfigurationForm(typed_twice(values))
    help_before = str(secret_value_field().help_text)

    assert not form.is_valid()

    hint = f'<span class="retype-hint">{RETYPE_HINT}</span> '
    assert str(form["secret"].help_text) == hint + help_before
    assert str(form.fields["secret"].help_text) == hint + help_before
    assert "retype-hint" in str(form["secret_confirm"].help_text)
    assert "retype-hint" not in str(form["password"].help_text)  # nothing typed there
    assert "retype-hint" not in str(form["tenant_id"].help_text)  # shown back as typed


def test_a_valid_or_untouched_form_has_nothing_to_retype(db):
    valid = form_for(modern())
    assert valid.is_valid(), valid.errors
    for form in (valid, MailboxConfigurationForm()):
        assert "retype-hint" not in str(form["secret"].help_text)


def test_an_expiry_date_today_is_refused_with_today_s_date(db):
    with time_machine.travel(datetime.datetime(2026, 3, 10, 15, 0, tzinfo=datetime.UTC)):
        form = form_for(modern(secret_expires_on="2026-03-10"))
        assert not form.is_valid()
    assert form.errors["secret_expires_on"] == [
        "La Fecha Expiración debe ser posterior a hoy (10/03/2026)."
    ]


def test_an_expiry_date_wants_someone_to_notify(db):
    form = form_for(modern(notification_email=""))

    assert not form.is_valid()
    assert form.errors["notification_email"] == [
        "Con una Fecha Expiración indica el Correo Notificación para avisarte."
    ]


def test_a_backup_email_with_spaces_is_named(db):
    form = form_for(modern(protocol="pop3", port=995, backup_email="respaldo @andina.test"))

    assert not form.is_valid()
    assert form.errors["backup_email"][0].startswith(
        "«Correo de respaldo» tiene espacios dentro del valor."
    )


def test_a_backup_that_is_no_address_is_refused_once(db):
    values = basic(
        server_type="other", protocol="pop3", host="mail.andina.test", port=995, username="buzon"
    )
    form = form_for(values | {"backup_email": "buzon"})

    assert not form.is_valid()
    assert form.errors["backup_email"] == [
        "«Correo de respaldo» debe ser un correo electrónico válido."
    ]


def test_a_host_with_spaces_gets_one_message_not_two(db):
    form = form_for(modern(host="outlook. office365.com"))

    assert not form.is_valid()
    assert len(form.errors["host"]) == 1
    assert "tiene espacios" in form.errors["host"][0]


def test_a_user_with_characters_powershell_would_run_is_refused_with_each_shown(db):
    form = form_for(basic(username='recepcion"$(x)@andina.test\x07'))

    assert not form.is_valid()
    assert form.errors["username"] == [
        "«Usuario» no admite comillas, $, `, paréntesis, llaves, ;, |, &, <, >, espacios ni "
        'caracteres de control (tiene «"», «$», «(», «)», un carácter de control). Escribe '
        "solo el usuario del buzón, por ejemplo recepcion@tuempresa.com."
    ]
