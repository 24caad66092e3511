"""Public pages outside the admin: only the POP3 backup-address confirmation link."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from reception.exceptions import BackupLinkInvalid
from reception.services import backup_confirm


@never_cache
@require_GET
def backup_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """Opening the e-mailed link confirms the address: receiving it is what is being proven."""
    try:
        mailbox = backup_confirm(token)
    except BackupLinkInvalid as error:
        return render(request, "reception/backup_confirm.html", {"error": str(error)}, status=400)
    return render(request, "reception/backup_confirm.html", {"mailbox": mailbox})
