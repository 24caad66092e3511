"""The ZIP limits as a space, not cases: under every limit accepted, over any refused with a reason.

The rule the archive reader promises, stated independently of how it reads: an archive is accepted
exactly when it has at most `max_zip_entries` files, no file inflates beyond `max_zip_entry_bytes`
nor beyond `max_zip_ratio` times its compressed size (small files up to `zip_ratio_floor_bytes`
excepted), and all files together stay within `max_zip_total_bytes`. Anything else is refused as
unsafe with a reason; nothing, however malformed, escapes as another exception.
"""

import io
import random
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.dian import Limits, Outcome
from invoices.dian.archive import extract_zip
from invoices.dian.types import DianError
from tests.factories.dian import make_zip

# Each entry: its size and whether it compresses (one repeated byte) or not (random bytes).
_ENTRIES = st.lists(
    st.tuples(st.integers(min_value=0, max_value=40_000), st.booleans()), min_size=1, max_size=7
)
_LIMITS = st.builds(
    Limits,
    max_zip_entries=st.integers(min_value=1, max_value=8),
    max_zip_entry_bytes=st.integers(min_value=0, max_value=45_000),
    max_zip_total_bytes=st.integers(min_value=0, max_value=150_000),
    max_zip_ratio=st.integers(min_value=1, max_value=300),
    zip_ratio_floor_bytes=st.integers(min_value=0, max_value=20_000),
)


def _archive(entries: list[tuple[int, bool]], seed: int) -> bytes:
    rng = random.Random(seed)
    files = []
    for index, (size, compressible) in enumerate(entries):
        # A leading "x" keeps random bytes from ever starting like a nested ZIP.
        body = b"x" + (b"a" * size if compressible else rng.randbytes(size))
        files.append((f"f{index}.xml", body[:size]))
    return make_zip(files)


def _within_limits(archive: bytes, limits: Limits) -> bool:
    infos = zipfile.ZipFile(io.BytesIO(archive)).infolist()
    sizes_allowed = all(
        info.file_size <= limits.max_zip_entry_bytes
        and (
            info.file_size <= limits.max_zip_ratio * max(info.compress_size, 1)
            or info.file_size <= limits.zip_ratio_floor_bytes
        )
        for info in infos
    )
    return (
        len(infos) <= limits.max_zip_entries
        and sizes_allowed
        and sum(info.file_size for info in infos) <= limits.max_zip_total_bytes
    )


@settings(max_examples=150, deadline=None)
@given(_ENTRIES, _LIMITS, st.integers(min_value=0, max_value=2**32))
def test_an_archive_is_accepted_exactly_when_it_is_within_every_limit(entries, limits, seed):
    archive = _archive(entries, seed)
    try:
        extracted = extract_zip(archive, limits)
    except DianError as refusal:
        assert not _within_limits(archive, limits), refusal.reason
        assert refusal.outcome is Outcome.ZIP_UNSAFE
        assert refusal.reason
        if len(entries) > limits.max_zip_entries:
            assert "demasiados archivos" in refusal.reason
        else:
            assert "bomba ZIP" in refusal.reason
    else:
        assert _within_limits(archive, limits)
        expected = zipfile.ZipFile(io.BytesIO(archive))
        assert [entry.data for entry in extracted] == [
            expected.read(info) for info in expected.infolist()
        ]


@settings(max_examples=150, deadline=None)
@given(_ENTRIES, st.integers(min_value=0, max_value=2**32), st.data())
def test_a_damaged_archive_is_refused_with_a_reason_never_an_exception(entries, seed, data):
    archive = bytearray(_archive(entries, seed))
    for _ in range(data.draw(st.integers(min_value=1, max_value=12))):
        position = data.draw(st.integers(min_value=0, max_value=len(archive) - 1))
        archive[position] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=1, max_value=len(archive)))
    try:
        extract_zip(bytes(archive[:cut]), Limits())
    except DianError as refusal:
        assert refusal.outcome in (Outcome.ZIP_INVALID, Outcome.ZIP_UNSAFE)
        assert refusal.reason


@given(st.binary(max_size=2_000))
def test_any_bytes_are_refused_with_a_reason_or_read(data: bytes) -> None:
    try:
        extract_zip(data, Limits())
    except DianError as refusal:
        assert refusal.reason


def test_an_archive_declaring_a_zip_version_python_does_not_know_is_refused_as_damaged():
    """zipfile raises NotImplementedError for it, which escaped as an unexpected failure."""
    archive = bytearray(make_zip([("f.xml", b"<x/>")]))
    central = archive.rindex(b"PK\x01\x02")
    archive[central + 6] = 64  # "version needed to extract": 6.4
    try:
        extract_zip(bytes(archive), Limits())
    except DianError as refusal:
        assert refusal.outcome is Outcome.ZIP_INVALID
        assert refusal.reason == "El adjunto ZIP está dañado o no es un ZIP"
    else:
        raise AssertionError("a ZIP of an unknown version was read")
