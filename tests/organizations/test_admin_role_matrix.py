"""Every admin URL and every admin action × every role combination, held to README's role table.

The URLs are read from the admin site itself (each registered ModelAdmin's `get_urls`, the
actions of the site and of each ModelAdmin): a page or an action added later without a line in
the tables below fails `test_it_has_an_expectation_for_every_admin_url_and_action`.

The objects belong to organization A; organization B has no mailbox yet (where its Back office
may add one). For an object of A, a user who may act gets the page; a user with a role in A
(Soporte has one in every organization) that does not allow it gets 403; anyone else gets 404,
so that an outsider does not learn the object exists. A list answers 403 to a user whose roles
allow it nowhere, and shows A's object only to a user whose role in A allows it. Every refused
POST leaves every table as it was. Admins of other apps (users, groups, background tasks) are
for superusers only.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import empty
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import SignedPackage

from config.storage import private_storage
from invoices.admin import REVIEW_ACTIONS
from invoices.models import RadianEvent, RadianEventState, ReviewStatus
from organizations.nit import nit_check_digit
from organizations.roles import SOPORTE_GROUP, Role
from organizations.services import membership_set
from reception.models import FetchRun, MailboxStatus, MessageOutcome, Protocol
from tests.conftest import PASSWORD
from tests.factories.documents import IncomingMessageFactory, ReceivedDocumentFactory
from tests.factories.mailboxes import make_mailbox
from tests.invoices.radian.helpers import configure_dian, credentials_data
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import NEW_SECRET, OBJECT, admin_post, in_days, modern

BO, CO, SO = "back_office", "contador", "soporte"
#: Superusers only.
SUPERUSER: frozenset[str] = frozenset()
#: Any signed-in staff user (a redirect, or a method refused before anything is looked up).
ANYONE = frozenset({"*"})
#: Nobody, not even a superuser: records written only by the mail engine.
NOBODY = frozenset({"-"})

OUR_APPS = {"organizations", "reception", "invoices"}


# --- README's role table, as the admin carries it ------------------------------------------------

ORGANIZATION = frozenset({BO, CO, SO})
MAILBOX_STATUS = frozenset({BO, CO, SO})
CONFIGURE = frozenset({BO})
CHECK = frozenset({BO, SO})
REACTIVATE = frozenset({SO})
CONFIRM_BACKUP = frozenset({SO})
ROTATE = frozenset({BO})
FETCH_RUNS = frozenset({BO, SO})
MAIL = frozenset({BO, CO})
REPROCESS = frozenset({CO})
DOCUMENTS = frozenset({BO, CO})
REVIEW = frozenset({CO})
EXPORT = frozenset({BO, CO})
RADIAN_EVENTS = frozenset({BO, CO})
DIAN_VIEW = frozenset({BO})
DIAN_CONFIGURE = frozenset({BO})


@dataclass(frozen=True)
class Expect:
    """Who may (roles in the object's organization, or anywhere for a list) and the answer then.

    `where`: "a" for an object of A, "anywhere" for a list, "b" for what only organization B
    (without a mailbox) allows. `data`: the POST's body, built from the test's objects.
    """

    may: frozenset[str]
    ok: int
    where: str = "a"
    data: Any = None
    lists: bool = False


def read_only_routes(may: frozenset[str]) -> dict[str, dict[str, Expect]]:
    """Django's own pages of an admin whose rows only the mail engine writes."""
    return {
        "": {"GET": Expect(may, 200, where="anywhere", lists=True)},
        "add/": {
            "GET": Expect(NOBODY, 403, where="anywhere"),
            "POST": Expect(NOBODY, 403, where="anywhere", data=lambda w: {}),
        },
        "<path:object_id>/history/": {"GET": Expect(may, 200)},
        "<path:object_id>/delete/": {
            "GET": Expect(NOBODY, 403),
            "POST": Expect(NOBODY, 403, data=lambda w: {"post": "yes"}),
        },
        "<path:object_id>/change/": {
            "GET": Expect(may, 200),
            "POST": Expect(NOBODY, 403, data=lambda w: {}),
        },
        "<path:object_id>/": {"GET": Expect(ANYONE, 302)},
    }


def post_only(may: frozenset[str], ok: int, data: Any = None) -> dict[str, Expect]:
    return {
        "GET": Expect(ANYONE, 405),
        "POST": Expect(may, ok, data=data or (lambda w: {})),
    }


def mailbox_operation(may: frozenset[str], ok: int, data: Any = None) -> dict[str, Expect]:
    """Run by its button; opening its address leads whoever sees the mailbox to its page."""
    return {
        "GET": Expect(MAILBOX_STATUS, 302),
        "POST": Expect(may, ok, data=data or (lambda w: {})),
    }


def organization_change(w: Any) -> dict[str, Any]:
    return {
        "name": "Andina renombrada S.A.S.",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }


def organization_add(w: Any) -> dict[str, Any]:
    nit = "860002964"
    return {**organization_change(w), "nit": nit, "check_digit": nit_check_digit(nit)}


def mailbox_of_a(w: Any) -> dict[str, Any]:
    """A's configuration as saved, a new secret typed twice: a change only Back office makes."""
    mailbox = w.mailbox
    values = modern(
        protocol="pop3",
        port=995,
        username=mailbox.username,
        tenant_id=str(mailbox.tenant_id),
        client_id=str(mailbox.client_id),
        object_id=OBJECT,
        secret=NEW_SECRET,
        backup_email=mailbox.backup_email,
        notification_email="otra@andina.example.test",
    )
    return admin_post(values, _continue="1")


def mailbox_of_b(w: Any) -> dict[str, Any]:
    return admin_post(modern(username="recepcion@pacifico.example.test"), organization=w.org_b.pk)


def new_secret(w: Any) -> dict[str, Any]:
    return {
        "secret": NEW_SECRET,
        "secret_confirm": NEW_SECRET,
        "secret_expires_on": in_days(200),
        "notification_email": "otra@andina.example.test",
    }


def dian_credentials_of_a(w: Any) -> dict[str, Any]:
    """A's credentials kept (no certificate or PIN typed): a change only Back office makes."""
    return credentials_data(software_pin="", certificate_password="", event_prefix="EVA")


def dian_credentials_of_b(w: Any) -> dict[str, Any]:
    p12 = w.signing_ca.pkcs12(nit=w.org_b.nit)
    return {
        **credentials_data(),
        "organization": w.org_b.pk,
        "certificate": SimpleUploadedFile("firma.p12", p12),
    }


REVIEW_DATA = {
    "acuse": lambda w: {"note": "visto"},
    "recibo": lambda w: {"note": "recibido"},
    "aceptar": lambda w: {"note": "", "confirmed": "True"},
    "reclamar": lambda w: {"concept": "01", "reason": "Valor errado", "confirmed": "True"},
}

ROUTES: dict[str, dict[str, dict[str, Expect]]] = {
    "organizations.organization": {
        "": {"GET": Expect(ORGANIZATION, 200, where="anywhere", lists=True)},
        "add/": {
            "GET": Expect(SUPERUSER, 200, where="anywhere"),
            "POST": Expect(SUPERUSER, 302, where="anywhere", data=organization_add),
        },
        "<path:object_id>/history/": {"GET": Expect(ORGANIZATION, 200)},
        # Its received documents protect it: the page says so, even to a superuser.
        "<path:object_id>/delete/": {
            "GET": Expect(SUPERUSER, 200),
            "POST": Expect(SUPERUSER, 200, data=lambda w: {"post": "yes"}),
        },
        "<path:object_id>/change/": {
            "GET": Expect(ORGANIZATION, 200),
            "POST": Expect(SUPERUSER, 302, data=organization_change),
        },
        "<path:object_id>/": {"GET": Expect(ANYONE, 302)},
    },
    "reception.receptionmailbox": {
        "": {"GET": Expect(MAILBOX_STATUS, 200, where="anywhere", lists=True)},
        "add/": {
            "GET": Expect(CONFIGURE, 200, where="b"),
            "POST": Expect(CONFIGURE, 302, where="b", data=mailbox_of_b),
        },
        "<path:object_id>/history/": {"GET": Expect(MAILBOX_STATUS, 200)},
        # Its recorded mail and runs cannot be deleted: Django refuses the POST, superuser or not.
        "<path:object_id>/delete/": {
            "GET": Expect(SUPERUSER, 200),
            "POST": Expect(SUPERUSER, 403, data=lambda w: {"post": "yes"}),
        },
        "<path:object_id>/change/": {
            "GET": Expect(MAILBOX_STATUS, 200),
            "POST": Expect(CONFIGURE, 302, data=mailbox_of_a),
        },
        "<path:object_id>/": {"GET": Expect(ANYONE, 302)},
        "<path:object_id>/probar/": mailbox_operation(CHECK, 200),
        "<path:object_id>/reactivar/": mailbox_operation(REACTIVATE, 200),
        "<path:object_id>/secreto/": {
            "GET": Expect(ROTATE, 200),
            "POST": Expect(ROTATE, 302, data=new_secret),
        },
        "<path:object_id>/respaldo/confirmar/": mailbox_operation(
            CONFIRM_BACKUP, 302, lambda w: {"confirmado": "si"}
        ),
        "<path:object_id>/respaldo/reenviar/": mailbox_operation(CONFIGURE, 302),
    },
    "invoices.diancredentials": {
        "": {"GET": Expect(DIAN_VIEW, 200, where="anywhere", lists=True)},
        "add/": {
            "GET": Expect(DIAN_CONFIGURE, 200, where="b"),
            "POST": Expect(DIAN_CONFIGURE, 302, where="b", data=dian_credentials_of_b),
        },
        "<path:object_id>/history/": {"GET": Expect(DIAN_VIEW, 200)},
        "<path:object_id>/delete/": {
            "GET": Expect(NOBODY, 403),
            "POST": Expect(NOBODY, 403, data=lambda w: {"post": "yes"}),
        },
        "<path:object_id>/change/": {
            "GET": Expect(DIAN_VIEW, 200),
            "POST": Expect(DIAN_CONFIGURE, 302, data=dian_credentials_of_a),
        },
        "<path:object_id>/": {"GET": Expect(ANYONE, 302)},
    },
    "invoices.radianevent": read_only_routes(RADIAN_EVENTS),
    "reception.fetchrun": read_only_routes(FETCH_RUNS),
    "reception.incomingmessage": {
        **read_only_routes(MAIL),
        "<path:object_id>/eml/": {
            "GET": Expect(MAIL, 200),
            "POST": Expect(ANYONE, 405, data=lambda w: {}),
        },
    },
    "invoices.receiveddocument": {
        **read_only_routes(DOCUMENTS),
        "exportar/csv/": {"GET": Expect(EXPORT, 200, where="anywhere", lists=True)},
        "exportar/xlsx/": {"GET": Expect(EXPORT, 200, where="anywhere")},
        "<path:object_id>/pdf/": {"GET": Expect(DOCUMENTS, 200)},
        "<path:object_id>/pdf/descargar/": {"GET": Expect(DOCUMENTS, 200)},
        "<path:object_id>/xml/": {"GET": Expect(DOCUMENTS, 200)},
        "<path:object_id>/correo/": {"GET": Expect(DOCUMENTS, 200)},
        **{
            f"<path:object_id>/revision/{action}/": post_only(REVIEW, 302, REVIEW_DATA[action])
            for action in REVIEW_ACTIONS
        },
    },
}

#: Values of the URL parameters other than the object's id.
ROUTE_PARAMETERS = {"<str:action>": list(REVIEW_ACTIONS)}


@dataclass(frozen=True)
class Act:
    """Who may run an admin action on A's object, and whether it then changes rows."""

    may: frozenset[str]
    changes: bool = True


ACTIONS: dict[str, dict[str, Act]] = {
    # Its received documents protect an organization, its recorded mail a mailbox.
    "organizations.organization": {"delete_selected": Act(SUPERUSER, changes=False)},
    "reception.receptionmailbox": {"delete_selected": Act(SUPERUSER, changes=False)},
    "reception.fetchrun": {"delete_selected": Act(NOBODY)},
    "reception.incomingmessage": {"delete_selected": Act(NOBODY), "reprocess": Act(REPROCESS)},
    "invoices.receiveddocument": {"delete_selected": Act(NOBODY)},
    "invoices.diancredentials": {"delete_selected": Act(NOBODY)},
    "invoices.radianevent": {"delete_selected": Act(NOBODY)},
}


# --- The personas --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    name: str
    fixture: str | None = None
    a: frozenset[str] = frozenset()
    b: frozenset[str] = frozenset()
    soporte: bool = False
    superuser: bool = False
    anonymous: bool = False
    staff: bool = True

    def roles(self, where: str) -> frozenset[str]:
        soporte = frozenset({SO}) if self.soporte else frozenset()
        if where == "a":
            return self.a | soporte
        if where == "b":
            return self.b | soporte
        return self.a | self.b | soporte

    def may(self, expect: Expect, where: str | None = None) -> bool:
        if expect.may == ANYONE:
            return True
        if expect.may == NOBODY:
            return False
        if self.superuser:
            return True
        return bool(self.roles(where or expect.where) & expect.may)

    @property
    def member_of_a(self) -> bool:
        return self.superuser or bool(self.roles("a"))


PERSONAS = [
    Persona("anonymous", anonymous=True),
    Persona("staff_without_role"),
    Persona("back_office_a", fixture="alice", a=frozenset({BO})),
    Persona("contador_a", fixture="bob", a=frozenset({CO})),
    Persona("soporte", fixture="sofia", soporte=True),
    Persona("back_office_b", fixture="charlie", b=frozenset({BO})),
    Persona("contador_b", b=frozenset({CO})),
    Persona("back_office_a_contador_b", a=frozenset({BO}), b=frozenset({CO})),
    Persona("soporte_back_office_b", b=frozenset({BO}), soporte=True),
    Persona("soporte_contador_b", b=frozenset({CO}), soporte=True),
    Persona("superuser", fixture="root", superuser=True),
]


def persona_user(request: pytest.FixtureRequest, persona: Persona, org_a: Any, org_b: Any) -> Any:
    if persona.fixture:
        return request.getfixturevalue(persona.fixture)
    request.getfixturevalue("role_groups")
    user_model = request.getfixturevalue("django_user_model")
    user = user_model.objects.create_user(
        username=persona.name, password=PASSWORD, email=f"{persona.name}@example.test"
    )
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    if persona.soporte:
        user.groups.add(Group.objects.get(name=SOPORTE_GROUP))
    for organization, roles in ((org_a, persona.a), (org_b, persona.b)):
        for role in roles:
            membership_set(user=user, organization=organization, role=Role(role))
    return user


# --- The world: one object of A per admin --------------------------------------------------------


@dataclass
class World:
    org_a: Any
    org_b: Any
    mailbox: Any
    signing_ca: Any = None
    objects: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def world(org_a, org_b, settings, tmp_path, monkeypatch, role_groups, dian_signing_ca) -> World:
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    monkeypatch.setattr(private_storage, "_wrapped", empty)
    install_fake_check(monkeypatch)
    mailbox = make_mailbox(
        org_a,
        protocol=Protocol.POP3,
        status=MailboxStatus.PENDING,
        backup_email="respaldo@andina.example.test",
    )
    run = FetchRun.objects.create(
        mailbox=mailbox,
        trigger="schedule",
        outcome=FetchRun.Outcome.OK,
        counts={"seen": 2, "documents": 1, "errors": {"no_zip": 1}},
    )
    message = IncomingMessageFactory(
        mailbox=mailbox, outcome=MessageOutcome.ERROR, reason_code="no_zip", with_raw=True
    )
    carrier = IncomingMessageFactory(mailbox=mailbox, with_raw=True)
    document = ReceivedDocumentFactory(
        organization=org_a,
        mailbox=mailbox,
        source_message=carrier,
        review_status=ReviewStatus.ACKNOWLEDGED,
        with_files=True,
    )
    now = timezone.now()
    success = Task.objects.create(
        id=uuid.uuid4().hex,
        name="tarea-ok",
        func="math.floor",
        started=now,
        stopped=now,
        success=True,
    )
    failure = Task.objects.create(
        id=uuid.uuid4().hex,
        name="tarea-fallida",
        func="math.floor",
        started=now,
        stopped=now,
        success=False,
    )
    target = apps.get_model("auth", "User").objects.create_user("objetivo", password=PASSWORD)
    credentials = configure_dian(org_a, dian_signing_ca)
    radian_event = RadianEvent.objects.create(
        organization=org_a,
        document=document,
        code="030",
        number="EV0",
        cude="c" * 96,
        issued_at=now,
        signed_xml="<ApplicationResponse/>",
        state=RadianEventState.REJECTED,
        dian_errors=["Regla: AAD06, Rechazo: El valor del CUDE no está calculado correctamente."],
    )
    world = World(org_a=org_a, org_b=org_b, mailbox=mailbox, signing_ca=dian_signing_ca)
    world.objects = {
        "organizations.organization": org_a,
        "reception.receptionmailbox": mailbox,
        "reception.fetchrun": run,
        "reception.incomingmessage": message,
        "invoices.receiveddocument": document,
        "invoices.diancredentials": credentials,
        "invoices.radianevent": radian_event,
        "auth.user": target,
        "auth.group": Group.objects.get(name=SOPORTE_GROUP),
        "django_q.schedule": Schedule.objects.create(name="prueba", func="math.floor"),
        "django_q.success": success,
        "django_q.failure": failure,
        "django_q.ormq": OrmQ.objects.create(key="default", payload=queued_task(), lock=now),
    }
    return world


def object_for(world: World, label: str) -> Any:
    """The test's object of that admin; for another package's admin added later, any row (or
    an id that matches none: Django then redirects its history page to the index)."""
    if label in world.objects:
        return world.objects[label]
    model = apps.get_model(label)
    return model._default_manager.first() or model(pk=0)


def queued_task() -> str:
    task = {"id": uuid.uuid4().hex, "name": "en-cola", "func": "math.floor", "args": (1.5,)}
    return SignedPackage.dumps({**task, "kwargs": {}, "group": None})


# --- Walking the admin ---------------------------------------------------------------------------


def registered_admins() -> list[tuple[str, Any]]:
    return [
        (model._meta.label_lower, admin.site.get_model_admin(model))
        for model in apps.get_models()
        if admin.site.is_registered(model)
    ]


_PARAMETER = re.compile(r"<[^>]+>")


def concrete_routes(route: str) -> list[str]:
    """The route with each parameter other than the object's id given its values."""
    routes = [route]
    for parameter in set(_PARAMETER.findall(route)) - {"<path:object_id>", "<id>"}:
        values = ROUTE_PARAMETERS.get(parameter)
        assert values, f"no values for {parameter} in {route}"
        routes = [r.replace(parameter, value) for r in routes for value in values]
    return routes


def admin_routes() -> list[tuple[str, str]]:
    """(model, route) for every URL of every registered ModelAdmin."""
    return [
        (label, concrete)
        for label, model_admin in registered_admins()
        for pattern in model_admin.get_urls()
        for concrete in concrete_routes(str(pattern.pattern))
    ]


def admin_actions() -> list[tuple[str, str]]:
    site_actions = [name for name, _function in admin.site.actions]
    return [
        (label, name)
        for label, model_admin in registered_admins()
        if model_admin.actions is not None
        for name in dict.fromkeys(
            site_actions
            + [a if isinstance(a, str) else a.__name__ for a in model_admin.actions or ()]
        )
    ]


def expectation(label: str, route: str, method: str) -> Expect | None:
    routes = ROUTES.get(label)
    if routes is not None:
        return routes.get(route, {}).get(method)
    # Any other app's admin (users, groups, background tasks): superusers only.
    if route == "<path:object_id>/":
        return Expect(ANYONE, 302)
    return Expect(SUPERUSER, 0, where="anywhere" if "object_id" not in route else "a")


def fingerprint() -> str:
    """Every row of every table, except the sessions (a request may always touch its own)."""
    rows = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label != "sessions" and not model._meta.proxy:
            rows.append((model._meta.label, list(model._base_manager.order_by("pk").values_list())))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def exists(obj: Any) -> bool:
    return type(obj)._default_manager.filter(pk=obj.pk).exists()


def attempt(client: Any, method: str, url: str, data: dict | None) -> tuple[Any, bool, bytes]:
    """One request in a savepoint rolled back afterwards; did it change any row?"""
    with transaction.atomic():
        before = fingerprint() if method == "POST" else None
        response = client.post(url, data or {}) if method == "POST" else client.get(url)
        # Reading a streamed file to its end closes it the way the test client expects.
        body = b"".join(response.streaming_content) if response.streaming else response.content
        changed = method == "POST" and fingerprint() != before
        transaction.set_rollback(True)
    return response, changed, body


def url_of(label: str, route: str, obj: Any) -> str:
    app_label, model_name = label.split(".")
    path = route.replace("<path:object_id>", str(obj.pk)).replace("<id>", str(obj.pk))
    return f"{reverse('admin:index')}{app_label}/{model_name}/{path}"


def shows(response: Any, body: bytes, obj: Any, label: str) -> bool:
    if label == "invoices.receiveddocument" and response.get("Content-Type", "").startswith(
        "text/csv"
    ):
        return obj.number.encode() in body
    return obj.pk in {row.pk for row in response.context["cl"].result_list}


# --- The tests -----------------------------------------------------------------------------------


def test_it_has_an_expectation_for_every_admin_url_and_action():
    live = set(admin_routes())
    for label, route in live:
        methods = [m for m in ("GET", "POST") if expectation(label, route, m) is not None]
        assert methods, f"no expectation for {label} {route}"
    for label, routes in ROUTES.items():
        for route in routes:
            assert (label, route) in live, f"{label} {route} is not an admin URL any more"
    for label, name in admin_actions():
        if label.split(".")[0] in OUR_APPS:
            assert name in ACTIONS.get(label, {}), f"no expectation for action {name} of {label}"


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.name for p in PERSONAS])
def test_it_answers_every_admin_url_as_the_role_table_says(request, client, world, persona):
    if not persona.anonymous:
        client.force_login(persona_user(request, persona, world.org_a, world.org_b))
    login = reverse("admin:login")
    wrong = []
    for label, route in admin_routes():
        obj = object_for(world, label)
        url = url_of(label, route, obj)
        for method in ("GET", "POST"):
            expect = expectation(label, route, method)
            if expect is None:
                continue
            data = expect.data(world) if expect.data else None
            response, changed, body = attempt(client, method, url, data)
            status = response.status_code
            where = f"{method} {url} ({label} {route})"
            if persona.anonymous:
                if status != 302 or not response["Location"].startswith(login):
                    wrong.append(f"{where}: {status}, expected the login page")
                if changed:
                    wrong.append(f"{where}: changed data")
                continue
            allowed = persona.may(expect)
            if label not in ROUTES:
                if allowed and expect.may != ANYONE:
                    if status in (404, 405) or status >= 500 or (route == "" and status != 200):
                        wrong.append(f"{where}: {status} for a superuser")
                    continue
                expected = expect.ok if allowed else 403
                index = reverse("admin:index")
                if not exists(obj) and status == 302 and response["Location"] == index:
                    expected = status  # "does not exist": nothing shown, nothing done
            elif allowed:
                expected = expect.ok
            elif expect.where == "a" and not persona.member_of_a:
                expected = 404
            else:
                expected = 403
            if status != expected:
                wrong.append(f"{where}: {status}, expected {expected}")
            if changed and not allowed:
                wrong.append(f"{where}: refused ({status}) but changed data")
            if expect.lists and status == 200:
                listed = shows(response, body, obj, label)
                if listed != persona.may(expect, "a"):
                    wrong.append(f"{where}: lists A's object: {listed}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.name for p in PERSONAS])
def test_it_runs_every_admin_action_as_the_role_table_says(request, client, world, persona):
    if not persona.anonymous:
        client.force_login(persona_user(request, persona, world.org_a, world.org_b))
    wrong = []
    for label, name in admin_actions():
        obj = object_for(world, label)
        act = ACTIONS.get(label, {}).get(name, Act(SUPERUSER))
        changes = persona.may(Expect(act.may, 0, where="a")) and act.changes and exists(obj)
        allowed_anywhere = persona.may(Expect(act.may, 0, where="anywhere"))
        changelist = url_of(label, "", obj)
        if label == "reception.incomingmessage":
            changelist += "?resultado=todos"
        response, _changed, _body = attempt(client, "GET", changelist, None)
        if response.status_code == 200:
            form = response.context.get("action_form")
            offered = (
                name in {value for value, _l in form.fields["action"].choices} if form else False
            )
            if offered != allowed_anywhere:
                wrong.append(f"{label} {name}: offered {offered}, expected {allowed_anywhere}")
        data = {"action": name, "_selected_action": [obj.pk], "post": "yes"}
        response, changed, _body = attempt(client, "POST", changelist, data)
        if changed != changes:
            wrong.append(
                f"{label} {name}: {response.status_code}, changed {changed}, expected {changes}"
            )
        if persona.anonymous and response.status_code != 302:
            wrong.append(f"{label} {name}: {response.status_code} for an anonymous user")
    assert not wrong, "\n".join(wrong)
