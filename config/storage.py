"""Private file storage, shared by reception (raw e-mails) and invoices (documents): no file
here ever gets a public URL."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import LazyObject


class PrivateFileSystemStorage(FileSystemStorage):
    """Files with no URL at all: every download goes through a view that checks permissions."""

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL; serve them through a checked view.")


class _PrivateStorage(LazyObject):
    def _setup(self) -> None:
        # Names are content-addressed, so writing the same name again (a re-run after a crash)
        # writes the same bytes: overwrite instead of inventing a second name.
        self._wrapped = PrivateFileSystemStorage(
            location=settings.PRIVATE_STORAGE_ROOT, base_url=None, allow_overwrite=True
        )


private_storage = _PrivateStorage()


def get_private_storage() -> FileSystemStorage:
    """Callable form for FileField(storage=...), so migrations don't freeze the path."""
    return private_storage


def content_save(name: str, data: bytes, *, keep_existing: bool = False) -> str:
    """Write `data` at exactly `name` in the private storage and return the name.

    For names derived from the content (a hash, a CUFE), without FileSystemStorage.save()'s
    name search, locking and chunking, which cost more than the write itself on a fetch of
    thousands. No temporary file either: such a file is only read through a row committed after
    the write, and a crash before that commit rewrites it. With `keep_existing` (the name is
    the bytes' own hash) an existing file of the same size is kept and nothing is written.
    """
    path = private_storage.path(name)
    if keep_existing:
        try:
            if os.stat(path).st_size == len(data):
                return name
        except FileNotFoundError:
            pass
    try:
        handle = open(path, "wb")  # noqa: SIM115 - closed below, after the retry
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = open(path, "wb")  # noqa: SIM115
    with handle:
        handle.write(data)
    return name
