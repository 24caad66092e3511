"""Reading a supplier's ZIP in memory without trusting anything it declares.

Nothing is written to disk, so entry names are only checked (a hostile name refuses the whole
archive) and reduced to a base name for display. Sizes are enforced on the bytes actually
inflated, never on the sizes the archive claims.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

from invoices.dian.types import DianError, Limits, Outcome

ZIP_MAGIC = b"PK\x03\x04"
_EOCD = b"PK\x05\x06"
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class Entry:
    """One file found in the ZIP (or in a nested ZIP), with a display-only base name."""

    name: str
    data: bytes
    depth: int


@dataclass(slots=True)
class _Budget:
    entries: int = 0
    total_bytes: int = 0


def extract_zip(data: bytes, limits: Limits) -> list[Entry]:
    """Return every file of the ZIP, descending into nested ZIPs up to `max_zip_depth`."""
    out: list[Entry] = []
    _extract(data, limits, 1, _Budget(), out)
    return out


def _extract(data: bytes, limits: Limits, depth: int, budget: _Budget, out: list[Entry]) -> None:
    declared = _declared_entry_count(data)
    if declared is not None and budget.entries + declared > limits.max_zip_entries:
        raise DianError(
            Outcome.ZIP_UNSAFE,
            f"El ZIP tiene demasiados archivos (más de {limits.max_zip_entries})",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        OSError,
        EOFError,
        NotImplementedError,  # a ZIP "version" zipfile does not know, e.g. a damaged header
    ) as exc:
        raise DianError(Outcome.ZIP_INVALID, "El adjunto ZIP está dañado o no es un ZIP") from exc
    budget.entries += len(infos)
    if budget.entries > limits.max_zip_entries:
        raise DianError(
            Outcome.ZIP_UNSAFE,
            f"El ZIP tiene demasiados archivos (más de {limits.max_zip_entries})",
        )
    for info in infos:
        _check_name(info.filename)
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise DianError(Outcome.ZIP_UNSAFE, "El ZIP trae archivos cifrados")
        content = _bounded_read(archive, info, limits, budget)
        if content.startswith(ZIP_MAGIC):
            if depth >= limits.max_zip_depth:
                raise DianError(
                    Outcome.ZIP_UNSAFE,
                    f"El ZIP anida otros ZIP más allá de {limits.max_zip_depth} niveles",
                )
            _extract(content, limits, depth + 1, budget, out)
        else:
            out.append(Entry(_base_name(info.filename), content, depth))


def _declared_entry_count(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record, read before zipfile builds its list."""
    tail_start = max(0, len(data) - 65_557)
    index = data.rfind(_EOCD, tail_start)
    if index < 0 or index + 22 > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, index + 10)
    return None if total == 0xFFFF else total


def _check_name(name: str) -> None:
    normalized = name.replace("\\", "/")
    parts = normalized.split("/")
    if (
        "\x00" in name
        or normalized.startswith("/")
        or _DRIVE.match(normalized)
        or any(part == ".." for part in parts)
    ):
        raise DianError(Outcome.ZIP_UNSAFE, f"El ZIP trae una ruta no permitida: {name[:120]!r}")


def _base_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())
    return cleaned[:200] or "archivo"


def _bounded_read(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: _Budget
) -> bytes:
    ratio_cap = max(limits.max_zip_ratio * max(info.compress_size, 1), limits.zip_ratio_floor_bytes)
    remaining_total = limits.max_zip_total_bytes - budget.total_bytes
    cap = max(min(limits.max_zip_entry_bytes, remaining_total, ratio_cap), 0)
    try:
        with archive.open(info) as handle:
            content = handle.read(cap + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise DianError(
            Outcome.ZIP_INVALID, f"El ZIP está dañado ({_base_name(info.filename)})"
        ) from exc
    except NotImplementedError as exc:
        raise DianError(
            Outcome.ZIP_INVALID, "El ZIP usa un método de compresión no soportado"
        ) from exc
    if len(content) > cap:
        if len(content) > limits.max_zip_ratio * max(info.compress_size, 1):
            reason = "El ZIP tiene una tasa de compresión sospechosa (posible bomba ZIP)"
        else:
            reason = (
                f"El contenido descomprimido del ZIP supera {cap / 1024 / 1024:.1f} MB "
                "(posible bomba ZIP)"
            )
        raise DianError(Outcome.ZIP_UNSAFE, reason)
    budget.total_bytes += len(content)
    return content
