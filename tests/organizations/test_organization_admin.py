"""Organizations in the admin: the NIT's check digit, memberships through the service."""

import pytest
from django.urls import reverse

from organizations.models import Membership, Organization
from organizations.roles import BACK_OFFICE_GROUP, Role

ADD_URL = reverse("admin:organizations_organization_add")
MEMBERSHIPS = {
    "memberships-TOTAL_FORMS": "0",
    "memberships-INITIAL_FORMS": "0",
    "memberships-MIN_NUM_FORMS": "0",
    "memberships-MAX_NUM_FORMS": "1000",
}


def change_url(organization):
    return reverse("admin:organizations_organization_change", args=[organization.pk])


@pytest.fixture
def root_client(client, root):
    client.force_login(root)
    return client


def test_it_adds_an_organization_with_a_valid_check_digit(root_client):
    response = root_client.post(
        ADD_URL,
        {"name": "Comercializadora Andina", "nit": "900123456", "check_digit": "8"} | MEMBERSHIPS,
    )
    assert response.status_code == 302
    assert Organization.objects.get().nit_display == "900.123.456-8"


@pytest.mark.parametrize(
    ("nit", "check_digit"),
    [("900123456-8", ""), ("900.123.456-8", ""), ("900123456", "8"), ("900.123.456-8", "8")],
)
def test_it_reads_the_nit_as_colombians_write_it(root_client, nit, check_digit):
    response = root_client.post(
        ADD_URL, {"name": "Andina", "nit": nit, "check_digit": check_digit} | MEMBERSHIPS
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    organization = Organization.objects.get()
    assert (organization.nit, organization.check_digit) == ("900123456", 8)
    listing = root_client.get(reverse("admin:organizations_organization_changelist"))
    assert "900.123.456-8" in listing.content.decode()


def test_it_computes_the_check_digit_left_empty(root_client):
    response = root_client.post(
        ADD_URL, {"name": "Andina", "nit": "900123456", "check_digit": ""} | MEMBERSHIPS
    )
    assert response.status_code == 302
    assert Organization.objects.get().check_digit == 8


@pytest.mark.parametrize(
    ("nit", "check_digit", "field"),
    [("900123456-3", "", "nit"), ("900123456-8", "3", "check_digit")],
)
def test_it_refuses_a_wrong_or_second_check_digit(root_client, nit, check_digit, field):
    response = root_client.post(
        ADD_URL, {"name": "Andina", "nit": nit, "check_digit": check_digit} | MEMBERSHIPS
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert "Este campo es obligatorio." not in response.content.decode()
    assert not Organization.objects.exists()


def test_it_says_the_organization_was_added_without_a_wrong_gender(root_client):
    response = root_client.post(
        ADD_URL,
        {"name": "Andina", "nit": "900123456-8", "check_digit": ""} | MEMBERSHIPS,
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert "El organización" not in text
    assert "Andina" in text


def test_it_refuses_a_wrong_check_digit(root_client):
    response = root_client.post(
        ADD_URL, {"name": "Andina", "nit": "900123456", "check_digit": "3"} | MEMBERSHIPS
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["check_digit"] == [
        "El dígito de verificación de 900123456 es 8, no 3."
    ]
    assert not Organization.objects.exists()


@pytest.mark.parametrize("nit", ["900,123,456", "90012345A", "12"])
def test_it_refuses_a_nit_that_is_not_digits(root_client, nit):
    response = root_client.post(
        ADD_URL, {"name": "Andina", "nit": nit, "check_digit": "8"} | MEMBERSHIPS
    )
    assert response.status_code == 200
    assert "nit" in response.context["adminform"].form.errors
    assert not Organization.objects.exists()


def test_it_refuses_a_nit_that_exists(root_client, org_a):
    response = root_client.post(
        ADD_URL, {"name": "Otra", "nit": "900123456", "check_digit": "8"} | MEMBERSHIPS
    )
    assert response.status_code == 200
    assert "nit" in response.context["adminform"].form.errors
    assert Organization.objects.get().name == org_a.name


def test_it_renames_but_keeps_the_nit(root_client, org_a):
    response = root_client.post(
        change_url(org_a),
        {"name": "Andina  S.A.S.", "nit": "111", "check_digit": "0"} | MEMBERSHIPS,
    )
    assert response.status_code == 302
    org_a.refresh_from_db()
    assert (org_a.name, org_a.nit_display) == ("Andina S.A.S.", "900.123.456-8")


def test_it_gives_members_their_role_group(root_client, org_a, django_user_model):
    dora = django_user_model.objects.create_user(username="dora", password="x")
    data = {"name": org_a.name} | MEMBERSHIPS
    data |= {
        "memberships-TOTAL_FORMS": "1",
        "memberships-0-user": str(dora.pk),
        "memberships-0-role": Role.BACK_OFFICE,
    }
    response = root_client.post(change_url(org_a), data)
    assert response.status_code == 302
    dora.refresh_from_db()
    assert Membership.objects.get(user=dora).role == Role.BACK_OFFICE
    assert dora.is_staff
    assert dora.groups.filter(name=BACK_OFFICE_GROUP).exists()


def test_it_removes_a_membership(root_client, org_a, alice):
    membership = Membership.objects.get(user=alice)
    data = {"name": org_a.name} | MEMBERSHIPS
    data |= {
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": str(membership.pk),
        "memberships-0-organization": str(org_a.pk),
        "memberships-0-user": str(alice.pk),
        "memberships-0-role": Role.BACK_OFFICE,
        "memberships-0-DELETE": "on",
    }
    assert root_client.post(change_url(org_a), data).status_code == 302
    assert not Membership.objects.filter(user=alice).exists()


def test_it_shows_members_their_organization_read_only(client, alice, org_a):
    client.force_login(alice)
    response = client.get(change_url(org_a))
    assert response.status_code == 200
    assert 'name="name"' not in response.content.decode()
    assert client.post(change_url(org_a), {"name": "Otra"}).status_code == 403
    assert client.get(ADD_URL).status_code == 403


def test_its_page_shows_the_nit_the_colombian_way(root_client, org_a):
    page = root_client.get(change_url(org_a)).content.decode()
    assert "900.123.456-8" in page
