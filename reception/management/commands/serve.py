"""Serve the admin and run the background worker together: the embedded set-up in one command."""

import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command

from config.cli import InputCommand


class Command(InputCommand):
    help = "Sirve la aplicación (runserver) y arranca el trabajador de django-q2 (qcluster)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, host: str, port: str, **options: Any) -> None:
        worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"])
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            signal.signal(signal.SIGTERM, previous)
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
