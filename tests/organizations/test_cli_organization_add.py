"""`python manage.py organization_add --nit 900123456-8 --name "Razón social"`."""

import pytest

from organizations.models import Organization
from organizations.services import organization_add as organization_add_service
from tests.commands import database_fingerprint, refusal_line, run_command, run_manage


@pytest.fixture
def organization_add(db, monkeypatch, capsys):
    def run(*argv):
        return run_command(["organization_add", *argv], monkeypatch=monkeypatch, capsys=capsys)

    return run


def test_it_creates_the_organization(organization_add):
    result = organization_add("--nit", "900123456-8", "--name", "Comercializadora Andina S.A.S.")
    assert result.status == 0, result.stderr
    organization = Organization.objects.get()
    assert (organization.nit, organization.check_digit) == ("900123456", 8)
    assert organization.name == "Comercializadora Andina S.A.S."
    assert (
        "Organización creada: Comercializadora Andina S.A.S. (NIT 900.123.456-8)" in result.stdout
    )


def test_it_computes_the_check_digit_when_not_written(organization_add):
    assert organization_add("--nit", "800.197.268", "--name", "Pacífico").status == 0
    assert Organization.objects.get().nit_display == "800.197.268-4"


def test_it_runs_again_updating_the_name(organization_add):
    assert organization_add("--nit", "900123456-8", "--name", "Andina").status == 0
    result = organization_add("--nit", "900123456", "--name", "  Andina   S.A.S. ")
    assert result.status == 0
    assert "Organización actualizada: Andina S.A.S." in result.stdout
    assert list(Organization.objects.values_list("name", flat=True)) == ["Andina S.A.S."]


@pytest.mark.parametrize(
    ("nit", "name", "line"),
    [
        ("900123456-3", "Andina", "nit: El dígito de verificación de 900123456 es 8, no 3."),
        ("90-01-23", "Andina", "nit: NIT inválido"),
        ("abc", "Andina", "nit: NIT inválido"),
        ("900123456-8", "   ", "name: "),
    ],
)
def test_it_refuses_invalid_input_with_its_field_and_exit_2(organization_add, nit, name, line):
    result = organization_add("--nit", nit, "--name", name)
    assert result.status == 2
    assert line in result.stderr
    assert not Organization.objects.exists()


def test_it_needs_both_options(organization_add):
    assert organization_add("--nit", "900123456-8").status == 2
    assert not Organization.objects.exists()


# --- Input that must be refused before anything is written -----------------------------------


@pytest.fixture
def existing(db):
    """A NIT that exists: a refused run must not rename it either."""
    return organization_add_service(nit="900123456-8", name="Comercializadora Andina S.A.S.")[0]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--nit", "1234567890123456", "--name", "Andina"], "nit: El NIT tiene 16 dígitos"),
        (["--nit", "9" * 300, "--name", "Andina"], "--nit: es demasiado largo"),
        (["--nit", "٩٠٠١٢٣٤٥٦", "--name", "Andina"], "nit: NIT inválido"),
        (["--nit", "900123456-8", "--name", "A" * 201], "name: "),
        (["--nit", "900123456-8", "--name", "A" * 5000], "--name: es demasiado largo"),
        (
            ["--nit", "900123456-8", "--name", "Andina\x1b[2J"],
            "--name: tiene caracteres de control",
        ),
        (
            ["--nit", "900123456-8", "--name", "Andina\nS.A.S."],
            "--name: tiene caracteres de control",
        ),
        (["--nit", "900123456-8", "--name", "Andina\udcff"], "--name: no es texto UTF-8 válido"),
    ],
    ids=[
        "nit-16-digits",
        "nit-overlong",
        "nit-arabic-digits",
        "name-201",
        "name-overlong",
        "name-escape",
        "name-newline",
        "name-surrogate",
    ],
)
def test_it_refuses_bad_input_in_one_line_and_changes_nothing(
    organization_add, existing, argv, words
):
    before = database_fingerprint()
    line = refusal_line(organization_add(*argv))
    assert line.startswith(words), line
    assert database_fingerprint() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "argv",
    [
        [b"--nit", b"900123456-8", b"--name", b"Andina \xff\xfe S.A.S."],
        [b"--nit", b"900123456\xe9", b"--name", b"Andina"],
    ],
    ids=["name", "nit"],
)
def test_it_refuses_non_utf8_arguments_from_a_real_shell(argv):
    organization_add_service(nit="900123456-8", name="Comercializadora Andina S.A.S.")
    before = database_fingerprint()
    line = refusal_line(run_manage([b"organization_add", *argv]))
    assert "no es texto UTF-8 válido" in line, line
    assert database_fingerprint() == before
