"""The login rate limit's two hooks (django-axes): whose address a request is, and the page a
locked-out user gets."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def client_ip(request: HttpRequest) -> str | None:
    """The address the nearest trusted proxy saw, so that a lockout hits the client.

    Each of the `TRUSTED_PROXY_COUNT` proxies appends the address it received from to
    X-Forwarded-For; entries further left come from the client and may be forged, so only the
    one the outermost proxy appended counts. Without trusted proxies the header is ignored.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            address.strip()
            for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if address.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The admin-styled Spanish page instead of django-axes' English sentence."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {**admin.site.each_context(request), "minutes": minutes}
    response = TemplateResponse(
        request, "admin/login_lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
    return response.render()
