"""Does the private storage hold what the database says it holds? For backups and restores.

Every file a row refers to (any FileField on the private storage, in every app) must exist. A
recorded e-mail's name is the SHA-256 of its bytes and its row keeps that hash, so its content is
checked too; a document's XML must name the document's CUFE. Read only: nothing is repaired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models

from config.storage import private_storage

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFileProblem:
    """A file a row refers to that is missing, or whose content is not what the row says."""

    name: str
    missing: bool
    model: str
    pk: object


@dataclass
class StorageReport:
    checked: int = 0
    problems: list[StoredFileProblem] = field(default_factory=list)


def _private_file_fields() -> Iterator[tuple[type[models.Model], str]]:
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            if isinstance(model_field, models.FileField) and _is_private(model_field):
                yield model, model_field.name


def _is_private(field: models.FileField) -> bool:
    """FileField(storage=get_private_storage) holds the storage the callable returned."""
    return field.storage is private_storage


def _sha256(name: str) -> str:
    digest = hashlib.sha256()
    with private_storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_content(model: type[models.Model], field: str, row: dict) -> bool | None:
    """True/False when the row says what the file must hold, None when it says nothing."""
    name = row[field]
    if model._meta.label == "reception.IncomingMessage" and row.get("sha256"):
        return _sha256(name) == row["sha256"]
    if model._meta.label == "invoices.ReceivedDocument" and field == "xml_file":
        with private_storage.open(name, "rb") as handle:
            return row["cufe"].encode() in handle.read()
    return None


def storage_verify() -> StorageReport:
    """Walk every private file reference; report the missing and the altered ones."""
    report = StorageReport()
    for model, name_field in _private_file_fields():
        columns = {column.name for column in model._meta.fields}
        extra = [name for name in ("sha256", "cufe") if name in columns]
        rows = model._default_manager.exclude(**{name_field: ""}).exclude(
            **{f"{name_field}__isnull": True}
        )
        for row in rows.values("pk", name_field, *extra).iterator(chunk_size=2000):
            name = row[name_field]
            report.checked += 1
            if not private_storage.exists(name):
                report.problems.append(StoredFileProblem(name, True, model._meta.label, row["pk"]))
            elif _expected_content(model, name_field, row) is False:
                report.problems.append(StoredFileProblem(name, False, model._meta.label, row["pk"]))
    return report
