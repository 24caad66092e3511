"""A newcomer's first pages: "Primeros pasos" on the admin index, per role; the site's icon;
the triage list saying what its default filter hides."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from reception.models import MailboxStatus
from tests.factories.mailboxes import make_mailbox

pytestmark = pytest.mark.django_db
INDEX = reverse("admin:index")


def panel(client, user):
    client.force_login(user)
    response = client.get(INDEX)
    assert response.status_code == 200
    return response.content.decode()


def test_it_leads_a_superuser_with_nothing_configured_to_create_the_organization(client, root):
    page = panel(client, root)
    assert "Primeros pasos" in page
    assert f'href="{reverse("admin:organizations_organization_add")}"' in page
    assert reverse("admin:reception_receptionmailbox_add") not in page.split("first-steps")[1]


def test_it_leads_back_office_to_configure_the_mailbox_of_its_organization(client, alice):
    page = panel(client, alice)
    steps = page.split('id="first-steps"')[1].split("</section>")[0]
    assert "Hecho:" in steps  # the organization exists
    assert f'href="{reverse("admin:reception_receptionmailbox_add")}"' in steps
    assert reverse("admin:organizations_organization_add") not in steps


def test_it_tells_a_contador_who_configures_instead_of_offering_a_link(client, bob):
    steps = panel(client, bob).split('id="first-steps"')[1].split("</section>")[0]
    assert "Lo hace el Back office de la organización." in steps
    assert reverse("admin:reception_receptionmailbox_add") not in steps


def test_it_leads_to_the_diagnosis_once_the_mailbox_exists(client, alice, org_a):
    mailbox = make_mailbox(org_a, status=MailboxStatus.PENDING)
    steps = panel(client, alice).split('id="first-steps"')[1].split("</section>")[0]
    change = reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])
    assert f'href="{change}#mailbox-diagnosis"' in steps


def test_it_is_gone_once_a_mailbox_is_activo(client, alice, org_a):
    make_mailbox(org_a, status=MailboxStatus.ACTIVE)
    assert 'id="first-steps"' not in panel(client, alice)


def test_the_site_icon_is_linked_and_served_at_favicon_ico(client, alice):
    page = panel(client, alice)
    assert 'rel="icon"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.ico")
    icon = finders.find("favicon.ico")
    assert icon is not None
    assert Path(icon).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_the_triage_list_says_what_its_default_filter_hides(client, bob):
    client.force_login(bob)
    url = reverse("admin:reception_incomingmessage_changelist")
    page = client.get(url).content.decode()
    assert "Solo ves los correos que no produjeron un documento" in page
    assert 'href="?resultado=todos"' in page
    everything = client.get(url, {"resultado": "todos"}).content.decode()
    assert "Solo ves los correos" not in everything
