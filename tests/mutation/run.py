"""Mutation testing of the risky modules, one module at a time with the tests meant to catch it.

    python -m tests.mutation.run [name ...]      # every row, or the named ones
    python -m tests.mutation.run --list          # the table

A module is judged by its own tests, not by whatever else in the suite happens to execute it:
each row narrows mutmut's `only_mutate` and test selection (the rest of [tool.mutmut] in
pyproject.toml applies), runs mutmut in a child process, then reads the verdicts mutmut left
in mutants/<path>.meta. Exit status 1 when a module is under THRESHOLD or did not run.
Survivors judged equivalent are marked from equivalent.py (see README.md there).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.mutation.equivalent import EQUIVALENT

THRESHOLD = 0.85
#: mutmut's verdicts that count as the tests noticing the mutant.
KILLED = frozenset({"killed", "timeout", "caught by type check"})
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Module:
    """One row: the file to mutate, optionally only some of its functions, and its tests."""

    name: str
    path: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()


MODULES: tuple[Module, ...] = (
    Module("nit", "organizations/nit.py", ("tests/organizations/test_nit.py",)),
    Module("status", "reception/status.py", ("tests/reception/test_status_machine.py",)),
    Module(
        "checks",
        "invoices/dian/checks.py",
        ("tests/invoices/dian/test_checks.py", "tests/invoices/dian/test_parse_documents.py"),
    ),
    Module(
        "exports",
        "invoices/exports.py",
        ("tests/invoices/test_exports.py", "tests/invoices/test_export_formulas.py"),
    ),
    Module(
        "scrub",
        "reception/transports/base.py",
        ("tests/reception/test_transports_unit.py",),
        functions=("scrub__*", "MailboxSettingsǁsecrets__*"),
    ),
    Module(
        "destinations",
        "reception/transports/destinations.py",
        (
            "tests/reception/test_destination_policy.py",
            "tests/reception/test_destination_at_connection.py",
        ),
    ),
    Module(
        "scoping",
        "organizations/scoping.py",
        (
            "tests/organizations/test_scoping.py",
            "tests/organizations/test_roles_per_organization.py",
        ),
    ),
    Module(
        "roles",
        "organizations/roles.py",
        (
            "tests/organizations/test_scoping.py",
            "tests/organizations/test_roles_per_organization.py",
        ),
    ),
    Module(
        "forms",
        "reception/forms.py",
        (
            "tests/reception/test_configuration_form.py",
            "tests/reception/test_secret_rotation.py",
            "tests/reception/test_mailbox_username.py",
            "tests/reception/test_credentials_bound_to_connection.py",
            "tests/reception/test_destination_policy.py",
        ),
    ),
    Module(
        "fetching",
        "reception/fetching.py",
        (
            "tests/reception/test_fetch_step_faults.py",
            "tests/reception/test_fetch_pop3.py",
            "tests/reception/test_fetch_imap.py",
        ),
        # The ledger's safety rules: what is recorded before the cursor moves, what POP3 deletes.
        functions=(
            "_Fetchǁrun__*",
            "_Fetchǁ_imap_start__*",
            "_Fetchǁ_store__*",
            "_Fetchǁ_parse_start__*",
            "_Fetchǁ_record__*",
            "_Fetchǁ_pop3__*",
            "_Fetchǁ_reconcile_deleted__*",
            "_Fetchǁ_back_up__*",
            "_Fetchǁ_delete__*",
        ),
    ),
    Module(
        "registration",
        "invoices/services.py",
        ("tests/invoices/test_documents_register.py", "tests/reception/test_processing_batches.py"),
        # Registration: a parsed e-mail becomes a document of the organization, or why not.
        functions=(
            "documents_register__*",
            "documents_plan__*",
            "documents_write__*",
            "_decide__*",
            "_document__*",
            "_bogota_time__*",
            "_taxes__*",
            "_link_notes__*",
        ),
    ),
    Module(
        "recording",
        "reception/processing.py",
        (
            "tests/reception/test_fetch_step_faults.py",
            "tests/reception/test_fetch_imap.py",
            "tests/reception/test_fetch_pop3.py",
            "tests/reception/test_processing_batches.py",
        ),
        # A batch's rows written once, decided, beside the documents that point at them.
        functions=("messages_record__*", "_decision__*"),
    ),
)

_CHILD = r"""
import sys
from mutmut.configuration import config
cfg = config()
cfg.only_mutate = [sys.argv[1]]
cfg.pytest_add_cli_args_test_selection = sys.argv[3].split(",")
from mutmut.__main__ import _run
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.mutation.data import SourceFileMutationData
_run([name for name in sys.argv[4].split(",") if name], int(sys.argv[2]))
data = SourceFileMutationData(path=sys.argv[1])
data.load()
with open(sys.argv[5], "w") as out:
    for key, code in sorted(data.exit_code_by_key.items()):
        if code == 0:
            out.write(f"# {key}\n" + get_diff_for_mutant(key, path=sys.argv[1]) + "\n")
"""


def mutant_names(module: Module) -> list[str]:
    """mutmut's name filter for a row restricted to some functions, e.g. `pkg.mod.x_scrub*`."""
    dotted = module.path.removesuffix(".py").replace("/", ".")
    return [f"{dotted}.x{sep}{pattern}" for pattern in module.functions for sep in ("_", "ǁ")]


def run_module(module: Module, *, workers: int) -> int:
    """Run mutmut for one row in a child process (mutmut keeps global state and may exit)."""
    names = ",".join(mutant_names(module))
    command = [sys.executable, "-c", _CHILD, module.path, str(workers), ",".join(module.tests)]
    log = ROOT / "mutants" / f"{module.name}.log"
    log.parent.mkdir(exist_ok=True)
    # mutmut keeps a verdict until the mutated function changes, and which tests reach which
    # function from the last run: a test added since must count, and rows mutate different files.
    (ROOT / "mutants" / f"{module.path}.meta").unlink(missing_ok=True)
    (ROOT / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    with log.open("w") as out:
        diffs = str(log.with_suffix(".survivors.diff"))
        code = subprocess.run(
            [*command, names, diffs], cwd=ROOT, stdout=out, stderr=out, check=False
        )
    if code.returncode != 0:
        print(log.read_text()[-3000:], file=sys.stderr)
    return code.returncode


def verdicts(module: Module) -> dict[str, str]:
    """The status of each mutant of a row, as mutmut recorded it."""
    from mutmut.stats import status_by_exit_code

    meta = json.loads((ROOT / "mutants" / f"{module.path}.meta").read_text())
    codes: dict[str, int | None] = meta["exit_code_by_key"]
    patterns = mutant_names(module)
    return {
        key: status_by_exit_code[code]
        for key, code in codes.items()
        if not patterns or any(fnmatch.fnmatch(key, p) for p in patterns)
    }


def main(argv: list[str] | None = None) -> int:
    """Run the chosen rows, print the kill rate per module, fail under the threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="rows to run (default: all)")
    parser.add_argument("--list", action="store_true", help="print the table and exit")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("MUTATION_WORKERS", 2)))
    args = parser.parse_args(argv)
    if args.list:
        for module in MODULES:
            print(f"{module.name:13} {module.path:40} {' '.join(module.tests)}")
        return 0
    unknown = set(args.names) - {m.name for m in MODULES}
    if unknown:
        parser.error(f"unknown module(s): {', '.join(sorted(unknown))}")
    chosen = [m for m in MODULES if m.name in args.names or not args.names]

    rows: list[tuple[Module, dict[str, str], float]] = []
    started = time.monotonic()
    for module in chosen:
        print(f"mutating {module.path} ({len(module.tests)} test files) ...", flush=True)
        began = time.monotonic()
        code = run_module(module, workers=args.workers)
        status = verdicts(module) if code == 0 else {f"mutmut exited with {code}": "error"}
        rows.append((module, status, time.monotonic() - began))

    print(f"\nMutation kill rate per module (threshold {THRESHOLD:.0%})")
    failed = False
    for module, status, seconds in rows:
        killed = sum(1 for verdict in status.values() if verdict in KILLED)
        rate = killed / len(status) if status and code_ran(status) else 0.0
        failed |= rate < THRESHOLD
        mark = "FAIL" if rate < THRESHOLD else "ok"
        counts = f"{killed:4}/{len(status):<4} {rate:6.1%}"
        print(f"  {mark:4} {module.name:13} {counts}  {seconds:5.0f}s  {module.path}")
        for key in sorted(k for k, verdict in status.items() if verdict not in KILLED):
            why = EQUIVALENT.get(key)
            note = f"equivalent: {why}" if why else status[key]
            print(f"         {key}: {note}")
    print(f"Total time: {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


def code_ran(status: dict[str, str]) -> bool:
    """False when mutmut itself failed for the row (no verdicts, only the error)."""
    return "error" not in status.values()


if __name__ == "__main__":
    sys.exit(main())
