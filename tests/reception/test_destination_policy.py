"""Where a credential may go: the pure rules, then the same rules in the configuration form.

A token goes only to Microsoft's IMAP/POP hosts, a password only to public addresses, both only
to the mail ports — unless RECEPTION_ALLOWED_MAIL_HOSTS lists the host (or host:port).
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from reception.destinations import allowed_mail_hosts
from reception.forms import MailboxConfigurationForm
from reception.transports.base import AuthMethod, ErrorKind
from reception.transports.destinations import (
    MICROSOFT_MAIL_HOSTS,
    address_refusal,
    is_public_address,
    name_refusal,
    parse_allowed_hosts,
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
]
PUBLIC = ["8.8.8.8", "40.97.120.226", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


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
