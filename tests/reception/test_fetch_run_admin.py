"""The fetch runs in the admin: read-only, for Back office of the organization and Soporte."""

import pytest
from django.urls import reverse

from organizations.services import membership_set
from reception.models import FetchRun
from tests.factories.mailboxes import make_mailbox

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reception_fetchrun_changelist")


@pytest.fixture
def runs(org_a, org_b):
    mailbox_a, mailbox_b = make_mailbox(org_a), make_mailbox(org_b)
    return {
        "a_ok": FetchRun.objects.create(
            mailbox=mailbox_a,
            trigger="schedule",
            outcome=FetchRun.Outcome.OK,
            counts={"seen": 5, "documents": 3, "duplicates": 1, "errors": {"no_zip": 1}},
        ),
        "a_failed": FetchRun.objects.create(
            mailbox=mailbox_a,
            trigger="schedule",
            outcome=FetchRun.Outcome.FAILED,
            error="Tiempo de espera agotado",
        ),
        "b_ok": FetchRun.objects.create(
            mailbox=mailbox_b, trigger="schedule", outcome=FetchRun.Outcome.OK
        ),
    }


def listed(response):
    return {run.pk for run in response.context["cl"].result_list}


def test_it_shows_back_office_its_organizations_runs_with_counts(client, alice, runs):
    client.force_login(alice)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert listed(response) == {runs["a_ok"].pk, runs["a_failed"].pk}
    page = response.content.decode()
    assert "5 leídos · 3 documentos · 1 duplicados · 0 no DIAN · 1 con error" in page
    assert "Tiempo de espera agotado" in page
    assert runs["b_ok"].mailbox.username not in page  # nor in the mailbox filter


def test_it_filters_by_outcome_and_mailbox(client, sofia, runs):
    client.force_login(sofia)
    assert listed(client.get(CHANGELIST, {"outcome__exact": "failed"})) == {runs["a_failed"].pk}
    assert listed(client.get(CHANGELIST, {"buzon": runs["b_ok"].mailbox_id})) == {runs["b_ok"].pk}
    assert len(listed(client.get(CHANGELIST))) == 3


def test_it_forbids_contador_with_403(client, bob, runs):
    client.force_login(bob)
    assert client.get(CHANGELIST).status_code == 403


def test_it_answers_404_for_another_organizations_run(client, charlie, runs):
    client.force_login(charlie)
    url = reverse("admin:reception_fetchrun_change", args=[runs["a_ok"].pk])
    assert client.get(url).status_code == 404


def test_it_counts_back_office_only_where_the_user_has_it(
    client, django_user_model, org_a, org_b, runs
):
    user = django_user_model.objects.create_user("mixed", password="x")
    membership_set(user=user, organization=org_b, role="back_office")
    membership_set(user=user, organization=org_a, role="contador")
    client.force_login(user)
    assert listed(client.get(CHANGELIST)) == {runs["b_ok"].pk}


def test_it_keeps_runs_read_only(client, root, runs):
    client.force_login(root)
    url = reverse("admin:reception_fetchrun_change", args=[runs["a_ok"].pk])
    page = client.get(url).content.decode()
    assert 'name="_save"' not in page
    assert client.post(url, {"trigger": "x"}).status_code == 403
    assert client.get(reverse("admin:reception_fetchrun_add")).status_code == 403
