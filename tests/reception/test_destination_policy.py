"""Where a credential may go: the pure rules, then the same rules in the configuration form.

A token goes only to Microsoft's IMAP/POP hosts, a password only to public addresses, both only
to the mail ports — unless RECEPTION_ALLOWED_MAIL_HOSTS lists the host (or host:port).
"""

import socket

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from reception.destinations import allowed_mail_hosts
from reception.forms import MailboxConfigurationForm
from reception.transports.base import (
    AllowedHost,
    AuthMethod,
    ErrorKind,
    MailboxSettings,
    MailProtocol,
    Refusal,
    Security,
    Stage,
    TransportError,
)
from reception.transports.destinations import (
    MICROSOFT_MAIL_HOSTS,
    address_refusal,
    connect_first,
    is_listed,
    is_public_address,
    name_refusal,
    normal_host,
    parse_allowed_hosts,
    refused,
    resolve,
    vetted_addresses,
)
from tests.reception.mailbox_data import basic, modern, typed_twice

BASIC, MODERN = AuthMethod.BASIC, AuthMethod.OAUTH2
HOST = "mail.andina.example.test"

NOT_PUBLIC = [
    "127.0.0.1",
    "127.0.0.2",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0",  # noqa: S104 - an address judged, not bound
    "224.0.0.251",  # multicast, which ipaddress calls global
    "239.1.1.1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fe80::1%1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",  # site-local
    "ff02::1",
    "ff0e::1",  # global-scope multicast
    "2001:db8::1",
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:127.0.0.1",
    "::10.0.0.1",  # IPv4-compatible
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::1",  # local-use NAT64
    "2001::1",  # Teredo
    "4000::1",  # reserved, which ipaddress calls global
]
PUBLIC = [
    "8.8.8.8",
    "40.97.120.226",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    # The IPv6 forms that carry a public IPv4 address are judged by it, not refused as such.
    "::8.8.8.8",  # IPv4-compatible
    "2002:808:808::",  # 6to4
    "64:ff9b::808:808",  # NAT64
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_password_never_goes_to_an_address_that_is_not_public(address):
    refusal = address_refusal(BASIC, HOST, 993, [address], ())

    assert not is_public_address(address)
    assert refusal is not None
    assert (refusal.kind, refusal.address) == (ErrorKind.ADDRESS_NOT_PUBLIC, address)


@pytest.mark.parametrize("address", PUBLIC)
def test_a_password_may_go_to_a_public_address(address):
    assert is_public_address(address)
    assert address_refusal(BASIC, HOST, 993, [address], ()) is None


def test_one_address_that_is_not_public_among_public_ones_is_enough_to_refuse():
    refusal = address_refusal(BASIC, HOST, 993, ["8.8.8.8", "10.0.0.5", "8.8.4.4"], ())
    assert refusal is not None and refusal.address == "10.0.0.5"


def test_a_listed_host_may_resolve_to_private_addresses():
    assert address_refusal(BASIC, HOST, 993, ["10.0.0.5"], parse_allowed_hosts([HOST])) is None
    listed_port = parse_allowed_hosts([f"{HOST}:10993"])
    assert address_refusal(BASIC, HOST, 10993, ["127.0.0.1"], listed_port) is None


def test_a_listing_for_another_port_or_host_does_not_lift_the_address_rule():
    for entries in ([f"{HOST}:10993"], ["other.andina.example.test"], ["10.0.0.5"]):
        refusal = address_refusal(BASIC, HOST, 993, ["10.0.0.5"], parse_allowed_hosts(entries))
        assert refusal is not None, entries


@pytest.mark.parametrize("host", ["10.0.0.5", "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1"])
def test_an_address_typed_as_the_host_is_judged_without_resolving_it(host):
    refusal = name_refusal(BASIC, host, 993, ())
    assert refusal is not None and refusal.kind == ErrorKind.ADDRESS_NOT_PUBLIC


def test_a_public_or_listed_address_typed_as_the_host_passes():
    assert name_refusal(BASIC, "8.8.8.8", 993, ()) is None
    assert name_refusal(BASIC, "127.0.0.2", 993, parse_allowed_hosts(["127.0.0.2"])) is None


@pytest.mark.parametrize("port", [993, 995, 143, 110])
def test_the_mail_ports_are_allowed(port):
    assert name_refusal(BASIC, HOST, port, ()) is None
    assert name_refusal(MODERN, "outlook.office365.com", port, ()) is None


@pytest.mark.parametrize("port", [22, 25, 80, 443, 587, 2525, 6379, 10993])
def test_any_other_port_is_refused_unless_listed_with_its_host(port):
    for auth, host in ((BASIC, HOST), (MODERN, "outlook.office365.com")):
        refusal = name_refusal(auth, host, port, ())
        assert refusal is not None and refusal.kind == ErrorKind.PORT_NOT_ALLOWED
        assert name_refusal(auth, host, port, parse_allowed_hosts([host])) is not None
        assert name_refusal(auth, host, port, parse_allowed_hosts([f"{host}:{port}"])) is None
        other_port = parse_allowed_hosts([f"{host}:{port + 1}"])
        assert name_refusal(auth, host, port, other_port) is not None


@pytest.mark.parametrize(
    "host",
    [
        "outlook.office365.com",  # worldwide and GCC
        "outlook.office365.us",  # GCC High
        "outlook-dod.office365.us",  # DoD
        "partner.outlook.cn",  # operated by 21Vianet
        "OUTLOOK.Office365.com",
        "outlook.office365.com.",
    ],
)
def test_a_token_may_go_to_microsofts_mail_hosts_of_every_cloud(host):
    assert name_refusal(MODERN, host, 993, ()) is None
    assert name_refusal(MODERN, host, 995, ()) is None


def test_the_microsoft_hosts_are_the_national_clouds():
    assert {
        "outlook.office365.com",
        "outlook.office365.us",
        "outlook-dod.office365.us",
        "partner.outlook.cn",
    } == set(MICROSOFT_MAIL_HOSTS)


@pytest.mark.parametrize(
    "host",
    [
        "imap.gmail.com",
        "mail.contoso.com",
        "outlook.office365.com.evil.example",
        "evil-outlook.office365.com",
        "xoutlook.office365.com",
        "outlook.office.com",
        "40.97.120.226",
        "127.0.0.1",
    ],
)
def test_a_token_never_goes_to_any_other_host(host):
    refusal = name_refusal(MODERN, host, 993, ())
    assert refusal is not None and refusal.kind == ErrorKind.HOST_NOT_ALLOWED


def test_a_token_may_go_to_a_listed_host():
    assert (
        name_refusal(MODERN, "mail.lab.test", 993, parse_allowed_hosts(["mail.lab.test"])) is None
    )
    assert (
        name_refusal(MODERN, "127.0.0.1", 10993, parse_allowed_hosts(["127.0.0.1:10993"])) is None
    )
    assert name_refusal(MODERN, "127.0.0.1", 993, parse_allowed_hosts(["127.0.0.1:10993"]))


def test_the_address_rule_is_the_passwords():
    """A token's destination is fixed by name (and its certificate), not by address."""
    assert address_refusal(MODERN, "outlook.office365.com", 993, ["10.0.0.5"], ()) is None


def test_it_reads_the_setting_entries():
    entries = parse_allowed_hosts(
        [" Mail.Lab.Test ", "127.0.0.1:10993", "[::1]:10995", "::1", "imap.lab.test.:143", ""]
    )
    assert [(entry.host, entry.port) for entry in entries] == [
        ("mail.lab.test", None),
        ("127.0.0.1", 10993),
        ("::1", 10995),
        ("::1", None),
        ("imap.lab.test", 143),
    ]


@pytest.mark.parametrize(
    "entry", ["mail.lab.test:abc", "mail.lab.test:0", "mail.lab.test:70000", ":993", "a b", "[::1"]
)
def test_it_refuses_a_malformed_entry(entry):
    with pytest.raises(ValueError, match="RECEPTION_ALLOWED_MAIL_HOSTS"):
        parse_allowed_hosts([entry])


# --- The same rules when saving, in the form (no network in clean()) ---------------------------


def _errors(values):
    form = MailboxConfigurationForm(typed_twice(values))
    assert not form.is_valid()
    return form.errors


def test_the_form_refuses_a_token_for_another_host(db):
    errors = _errors(modern(host="imap.contoso.example"))
    assert "Microsoft" in errors["host"][0]
    assert "RECEPTION_ALLOWED_MAIL_HOSTS" in errors["host"][0]


def test_the_form_refuses_another_port(db):
    errors = _errors(basic(server_type="other", host=HOST, port=2525))
    assert "993, 995, 143" in errors["port"][0]
    assert "2525" in errors["port"][0]


def test_the_form_refuses_a_private_address_typed_as_the_host(db):
    errors = _errors(basic(server_type="other", host="10.0.0.5"))
    assert "10.0.0.5" in errors["host"][0]
    assert "pública" in errors["host"][0]


def test_the_form_accepts_what_the_setting_lists(db, settings):
    settings.RECEPTION_ALLOWED_MAIL_HOSTS = ["imap.contoso.example", "10.0.0.5:2525"]
    for values in (
        modern(host="imap.contoso.example"),
        basic(server_type="other", host="10.0.0.5", port=2525),
    ):
        form = MailboxConfigurationForm(typed_twice(values))
        assert form.is_valid(), form.errors


def test_a_malformed_setting_stops_the_app_at_start_up(settings):
    settings.RECEPTION_ALLOWED_MAIL_HOSTS = ["mail.lab.test:imaps"]

    with pytest.raises(SystemCheckError, match=r"mail\.lab\.test:imaps"):
        call_command("check")
    with pytest.raises(ImproperlyConfigured):
        allowed_mail_hosts()


# --- Connecting to the vetted addresses, in order --------------------------------------------


def _connector(failures: dict[str, TransportError]):
    attempts: list[str] = []

    def connect(address: str) -> str:
        attempts.append(address)
        if address in failures:
            raise failures[address]
        return f"conectado a {address}"

    return connect, attempts


def _unreachable(address: str) -> TransportError:
    return TransportError(ErrorKind.CONNECTION_REFUSED, Stage.TCP, f"{address} no responde")


def test_it_moves_to_the_next_address_only_when_one_cannot_be_reached():
    connect, attempts = _connector({"192.0.2.1": _unreachable("192.0.2.1")})
    assert connect_first(["192.0.2.1", "192.0.2.2", "192.0.2.3"], connect) == (
        "conectado a 192.0.2.2"
    )
    assert attempts == ["192.0.2.1", "192.0.2.2"]


def test_a_failure_past_tcp_is_the_server_s_answer_and_no_other_address_is_tried():
    tls = TransportError(ErrorKind.TLS, Stage.TLS, "certificado de otro nombre")
    connect, attempts = _connector({"192.0.2.1": tls})
    with pytest.raises(TransportError) as raised:
        connect_first(["192.0.2.1", "192.0.2.2"], connect)
    assert raised.value is tls
    assert attempts == ["192.0.2.1"]


def test_when_no_address_can_be_reached_the_last_failure_is_raised():
    last = _unreachable("192.0.2.2")
    connect, attempts = _connector({"192.0.2.1": _unreachable("192.0.2.1"), "192.0.2.2": last})
    with pytest.raises(TransportError) as raised:
        connect_first(["192.0.2.1", "192.0.2.2"], connect)
    assert raised.value is last
    assert attempts == ["192.0.2.1", "192.0.2.2"]


def test_a_name_without_addresses_is_a_name_resolution_failure():
    connect, attempts = _connector({})
    with pytest.raises(TransportError) as raised:
        connect_first([], connect)
    error = raised.value
    assert (error.kind, error.stage, error.detail) == (
        ErrorKind.DNS,
        Stage.DNS,
        "el nombre no tiene direcciones",
    )
    assert attempts == []


# --- Names, entries and refusals, exactly -------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "normal"),
    [
        (" Outlook.Office365.COM. ", "outlook.office365.com"),
        ("[2001:DB8:0::1]", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("[::1]", "::1"),
        ("[mail.andina.example.test", "[mail.andina.example.test"),
        ("mail.andina.example.test]", "mail.andina.example.test]"),
    ],
)
def test_names_and_addresses_compare_in_one_canonical_form(host, normal):
    assert normal_host(host) == normal


def test_it_reads_bracketed_ipv6_entries_with_and_without_a_port_and_skips_blanks():
    assert parse_allowed_hosts(["[2001:DB8::1]:993", "", "  ", "[::1]", "Mail.X.test"]) == (
        AllowedHost("2001:db8::1", 993),
        AllowedHost("::1", None),
        AllowedHost("mail.x.test", None),
    )


@pytest.mark.parametrize("port", ["1", "65535"])
def test_it_accepts_every_port_from_1_to_65535(port):
    assert parse_allowed_hosts([f"h.test:{port}"]) == (AllowedHost("h.test", int(port)),)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("h.test:0", "el puerto de «h.test:0» debe ser un número de 1 a 65535"),
        ("h.test:65536", "el puerto de «h.test:65536» debe ser un número de 1 a 65535"),
        ("[::1]:0", "el puerto de «\\[::1\\]:0» debe ser un número de 1 a 65535"),
        ("[::1]]:993", "«\\[::1\\]\\]:993» no es «\\[dirección IPv6\\]:puerto»"),
    ],
)
def test_it_names_the_entry_and_the_rule_it_breaks(entry, message):
    with pytest.raises(ValueError, match=message):
        parse_allowed_hosts([entry])


def test_a_refusal_says_which_rule_where_and_which_address():
    assert name_refusal(MODERN, "imap.evil.test", 993, ()) == Refusal(
        ErrorKind.HOST_NOT_ALLOWED, "imap.evil.test", 993
    )
    assert name_refusal(BASIC, HOST, 8080, ()) == Refusal(ErrorKind.PORT_NOT_ALLOWED, HOST, 8080)
    assert name_refusal(BASIC, "[::1]", 993, ()) == Refusal(
        ErrorKind.ADDRESS_NOT_PUBLIC, "[::1]", 993, "::1"
    )
    assert name_refusal(BASIC, "127.1", 995, ()) == Refusal(
        ErrorKind.ADDRESS_NOT_PUBLIC, "127.1", 995, "127.0.0.1"
    )
    assert address_refusal(BASIC, HOST, 995, ["8.8.8.8", "10.0.0.5"], ()) == Refusal(
        ErrorKind.ADDRESS_NOT_PUBLIC, HOST, 995, "10.0.0.5"
    )


@pytest.mark.parametrize(
    ("refusal", "detail"),
    [
        (
            Refusal(ErrorKind.HOST_NOT_ALLOWED, "imap.evil.test", 993),
            "imap.evil.test no es un servidor IMAP/POP de Microsoft ni está en "
            "RECEPTION_ALLOWED_MAIL_HOSTS",
        ),
        (
            Refusal(ErrorKind.PORT_NOT_ALLOWED, HOST, 8080),
            f"el puerto 8080 no es 993, 995, 143 ni 110 y {HOST}:8080 no está en "
            "RECEPTION_ALLOWED_MAIL_HOSTS",
        ),
        (
            Refusal(ErrorKind.ADDRESS_NOT_PUBLIC, HOST, 993, "10.0.0.5"),
            f"{HOST} es o resuelve a una dirección que no es pública",
        ),
    ],
)
def test_a_refusal_is_reported_as_a_destination_failure_naming_its_rule(refusal, detail):
    error = refused(refusal)
    assert (error.kind, error.stage, error.detail) == (refusal.kind, Stage.DESTINATION, detail)
    assert error.transient is False
    assert error.refusal is refusal
    assert "10.0.0.5" not in str(error)


def _settings(host: str, port: int, allowed=(), resolver=socket.getaddrinfo) -> MailboxSettings:
    return MailboxSettings(
        protocol=MailProtocol.IMAP,
        auth=AuthMethod.BASIC,
        host=host,
        port=port,
        security=Security.SSL,
        username="recepcion@andina.example.test",
        password="clave",
        allowed_hosts=tuple(allowed),
        resolver=resolver,
    )


def test_a_host_is_listed_for_the_ports_it_is_listed_for():
    listed = parse_allowed_hosts(["Mail.Andina.Example.Test.:10993"])
    assert is_listed(_settings(HOST, 10993, listed))
    assert not is_listed(_settings(HOST, 993, listed))
    assert not is_listed(_settings("otro.example.test", 10993, listed))


class _Resolver:
    """Name resolution at its boundary: records what it was asked, answers or fails."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.asked = answer or [], error, []

    def __call__(self, host, port, **options):
        self.asked.append((host, port, options))
        if self.error:
            raise self.error
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in self.answer]


def test_it_resolves_once_for_a_stream_and_keeps_each_address_once_in_order():
    resolver = _Resolver(["8.8.8.8", "1.1.1.1", "8.8.8.8"])
    assert vetted_addresses(_settings(HOST, 993, resolver=resolver)) == ["8.8.8.8", "1.1.1.1"]
    assert resolver.asked == [(HOST, 993, {"type": socket.SOCK_STREAM})]


@pytest.mark.parametrize(
    ("errno", "transient"), [(socket.EAI_AGAIN, True), (socket.EAI_NONAME, False)]
)
def test_a_name_that_does_not_resolve_is_a_dns_failure_transient_only_when_dns_says_so(
    errno, transient
):
    failure = socket.gaierror(errno, "sin respuesta del DNS")
    with pytest.raises(TransportError) as raised:
        resolve(HOST, 993, _Resolver(error=failure))
    error = raised.value
    assert (error.kind, error.stage, error.detail, error.transient) == (
        ErrorKind.DNS,
        Stage.DNS,
        str(failure),
        transient,
    )
    assert error.__cause__ is failure
