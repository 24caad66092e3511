"""What a user reads is Spanish of Colombia (tú), in Colombian formats; English is complete.

The English catalogue is compared with a fresh extraction of our apps' texts by gettext's
msgcmp, which fails on a text missing from the catalogue (a stale one), untranslated or fuzzy.
"""

import datetime
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import formats, translation

ROOT = Path(__file__).resolve().parents[2]
#: Where our texts live (tests and benchmarks speak to developers, not to users).
SOURCES = ["config", "organizations", "reception", "invoices", "templates"]
ENGLISH = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
#: Usted forms a text of ours must not use: the guide speaks to the user as tú.
USTED = re.compile(
    r"\b(revise|verifique|ingrese|seleccione|confirme|escriba|intente|use|quiere|puede usted|"
    r"diligencie|contacte|asegúrese|tenga en cuenta|usted|su contraseña|agréguelo|conceda|"
    r"cree uno|actívelo|guarde|regístrelo|pida|descárguelo|corrija|va a|vaya|abra|"
    r"copie|elimine|quite|cambie|siga|dé)\b",
    re.IGNORECASE,
)


def test_every_text_of_ours_has_a_current_english_translation(tmp_path, settings, monkeypatch):
    """A text added or changed in the code without its English translation fails here, and so
    does one left untranslated or fuzzy (msgcmp counts neither)."""
    for name in SOURCES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.pyc"))
    (tmp_path / "locale").mkdir()
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["en"], verbosity=0)
    fresh = tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"
    compared = subprocess.run(
        ["msgcmp", str(ENGLISH), str(fresh)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert compared.returncode == 0, compared.stderr


def msgids(po: Path) -> list[str]:
    """The msgids of a .po file, their continuation lines joined."""
    texts, current = [], None
    for line in po.read_text().splitlines():
        if line.startswith("msgid "):
            current = [line[len("msgid ") :].strip().strip('"')]
            texts.append(current)
        elif line.startswith('"') and current is not None:
            current.append(line.strip().strip('"'))
        else:
            current = None
    return ["".join(parts) for parts in texts if "".join(parts)]


def test_our_texts_say_tu_not_usted():
    emails = sorted((ROOT / "templates" / "reception" / "email").glob("*.*"))
    texts = msgids(ENGLISH) + [path.read_text() for path in emails]
    found = [text for text in texts if USTED.search(text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("msgid", "spanish"),
    [
        ("Select %s to change", "Escoge qué modificar: %s"),
        ("Scheduled tasks", "Tareas programadas"),
        ("Failed tasks", "Tareas fallidas"),
        ("Next Run", "Próxima ejecución"),
        ("The {name} “{obj}” was added successfully.", "Se agregó «{obj}» ({name})."),
    ],
)
def test_django_and_django_q2_texts_read_in_spanish(msgid, spanish):
    with translation.override("es-co"):
        assert translation.gettext(msgid) == spanish


def test_dates_and_numbers_are_colombian():
    day = datetime.date(2026, 12, 1)
    with translation.override("es-co"):
        assert formats.date_format(day) == "1 de diciembre de 2026"
        assert formats.date_format(day, "SHORT_DATE_FORMAT") == "01/12/2026"
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%d/%m/%Y"
        assert formats.number_format(Decimal("1234.56"), 2, force_grouping=True) == "1.234,56"


def test_english_reads_english():
    with translation.override("en"):
        assert translation.gettext("Probar conexión") == "Test connection"
        assert translation.gettext("Primeros pasos") == "First steps"
