"""Private file storage: raw e-mails and documents never get a public URL."""

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
