#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    finally:
        finish()


def finish() -> None:
    """Close the database connections, then spare the interpreter's shutdown its full
    collections over every object Django and the command made (~110 ms of every command's
    exit). Frozen, a connection caught in a reference cycle would never be closed, only dropped
    with the process."""
    from django.db import connections

    connections.close_all()
    gc.freeze()


if __name__ == "__main__":
    main()
