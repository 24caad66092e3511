"""What every management command that takes a person's input checks before it writes anything.

A shell hands a command bytes: arguments that were not UTF-8 arrive as text with lone
surrogates, standard input may hold anything of any size. Such input never reaches a form, a
service or the database: the command exits with status 2 and one line in Spanish per problem
on stderr, each line starting with the option or field it is about.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable
from typing import IO, Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

#: Far more than a configuration or a secret needs; anything bigger is a mistake or an attack.
MAX_STDIN_BYTES = 64 * 1024
#: The longest value an option carries is an e-mail address (254 characters).
MAX_ARGUMENT_CHARS = 254
#: Options Django itself reads before the command runs (paths, not values of ours).
_DJANGO_OPTIONS = frozenset({"settings", "pythonpath"})
#: Line breaks and tabs are how pasted text ends; the forms strip them or report them as spaces.
_TEXT_WHITESPACE = frozenset("\t\n\r")


class InputRefused(Exception):
    """Input a command will not act on; each line names the option or field, then the problem."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class InputCommand(BaseCommand):
    """A command whose options are checked as text before `handle` runs, and whose refusals
    (`InputRefused`) end it with status 2 and only their own lines on stderr."""

    def run_from_argv(self, argv: list[str]) -> None:
        try:
            super().run_from_argv(argv)
        except InputRefused as refusal:
            for line in refusal.lines:
                self.stderr.write(line)
            sys.exit(2)

    def execute(self, *args: Any, **options: Any) -> Any:
        problems = [
            problem
            for name, value in options.items()
            if isinstance(value, str) and name not in _DJANGO_OPTIONS
            for problem in argument_problems(f"--{name.replace('_', '-')}", value)
        ]
        if problems:
            raise InputRefused(*problems)
        return super().execute(*args, **options)


def argument_problems(name: str, value: str) -> list[str]:
    """An option's value is one line of text of a sensible length."""
    return length_problems(name, value, MAX_ARGUMENT_CHARS) or text_problems(
        name, value, allowed=()
    )


def length_problems(name: str, value: str, maximum: int) -> list[str]:
    """Said before any other check, so an overlong value is one line, not one per rule."""
    if len(value) <= maximum:
        return []
    return [
        _("%(name)s: es demasiado largo (máximo %(max)s caracteres).")
        % {"name": name, "max": maximum}
    ]


def text_problems(name: str, value: str, *, allowed: Iterable[str] = _TEXT_WHITESPACE) -> list[str]:
    """Text that cannot be stored or sent as typed: undecodable bytes or control characters."""
    allowed = frozenset(allowed)
    if any(unicodedata.category(char) == "Cs" for char in value):
        return [
            _("%(name)s: no es texto UTF-8 válido; revisa la codificación de tu terminal.")
            % {"name": name}
        ]
    if any(unicodedata.category(char) == "Cc" and char not in allowed for char in value):
        return [
            _("%(name)s: tiene caracteres de control; escribe solo texto en una línea.")
            % {"name": name}
        ]
    return []


def read_stdin(stream: IO[Any] | None = None) -> str:
    """Standard input as text: at most MAX_STDIN_BYTES, strict UTF-8 (a BOM is dropped), no
    control characters other than line breaks and tabs. Read as bytes when the stream has them,
    so the terminal's locale cannot turn bad bytes into surrogates."""
    stream = sys.stdin if stream is None else stream
    raw = getattr(stream, "buffer", None)
    data = (raw if raw is not None else stream).read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise InputRefused(
            _("stdin: la entrada supera el máximo de %(kib)s KiB.")
            % {"kib": MAX_STDIN_BYTES // 1024}
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InputRefused(
                _("stdin: no es texto UTF-8 válido; guarda el archivo en UTF-8.")
            ) from error
    problems = text_problems("stdin", data)
    if problems:
        raise InputRefused(*problems)
    return data


def read_json_object(stream: IO[Any] | None = None) -> dict[str, Any]:
    """Standard input as one JSON object (NaN and Infinity are not JSON)."""
    text = read_stdin(stream)
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except RecursionError as error:
        raise InputRefused(_("stdin: el JSON tiene demasiados niveles anidados.")) from error
    except json.JSONDecodeError as error:
        raise InputRefused(
            _("stdin: JSON inválido (línea %(line)s, columna %(column)s).")
            % {"line": error.lineno, "column": error.colno}
        ) from error
    except ValueError as error:  # a constant, or a number with thousands of digits
        raise InputRefused(_("stdin: JSON inválido.")) from error
    if not isinstance(document, dict):
        raise InputRefused(
            _("stdin: el JSON debe ser un objeto con las claves de la configuración.")
        )
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(name)
