"""`make prod-check`: Django's deployment checks, failing on warnings, with the production
environment — the file given (e.g. /etc/recepcion/env), or README's «Producción» block with
fresh random keys in place of its `<...>` placeholders.

    python deploy/prod_check.py [ENV_FILE]

Only that environment (plus PATH) reaches the check, so a developer's shell or `.env` decides
nothing. Exit status: the check's (0 clean).
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_environment() -> dict[str, str]:
    """The variables of README's «Producción» block; `<...>` placeholders get fresh keys."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Producción", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    return parse(block, fill_placeholders=True)


def parse(text: str, *, fill_placeholders: bool = False) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, value = line.split("=", 1)
        if fill_placeholders and value.startswith("<"):
            value = secrets.token_urlsafe(48)
        env[name.strip()] = value.strip()
    return env


def main(argv: list[str]) -> int:
    env = parse(Path(argv[0]).read_text(encoding="utf-8")) if argv else readme_environment()
    with tempfile.TemporaryDirectory(prefix="recepcion-prod-check-") as scratch:
        env.setdefault("VAR_DIR", scratch)
        env["PATH"] = "/usr/bin:/bin"
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=env,
            check=False,
        ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
