"""The deployment files say what the README says: `make prod-check` is clean with the documented
environment, and every unit runs a command of deploy/Procfile."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_prod_check_is_clean_with_the_documented_environment():
    result = subprocess.run(
        [sys.executable, "deploy/prod_check.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_prod_check_fails_on_a_deployment_file_with_warnings(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text(
        "DEBUG=False\nSECRET_KEY=short\nSITE_URL=https://recepcion.example.com\n"
        "RECEPTION_ENCRYPTION_KEY=pV3-kq9ZtW2m_Rx7LsB4nYc8dHf6JgA1eUo5\n"
        "SECURE_HSTS_SECONDS=0\n"
    )
    result = subprocess.run(
        [sys.executable, "deploy/prod_check.py", str(env_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS
    assert "security.W009" in result.stderr + result.stdout  # weak SECRET_KEY


def test_the_systemd_units_run_the_procfile_commands():
    procfile = {
        name: command.strip()
        for name, command in (
            line.split(":", 1)
            for line in (DEPLOY / "Procfile").read_text().splitlines()
            if line and not line.startswith("#")
        )
    }
    release = (DEPLOY / "recepcion-release.service").read_text()
    steps = re.findall(r"^ExecStart=/opt/recepcion/\.venv/bin/(.+)$", release, re.MULTILINE)
    assert " && ".join(steps) == procfile["release"]
    for unit, process in [("web", "web"), ("worker", "worker")]:
        text = (DEPLOY / f"recepcion-{unit}.service").read_text()
        (command,) = re.findall(r"^ExecStart=/opt/recepcion/\.venv/bin/(.+)$", text, re.MULTILINE)
        assert command == procfile[process]
