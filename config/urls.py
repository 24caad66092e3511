"""URL routes: the admin is the application; a few public endpoints live beside it."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from config.health import health_view
from reception.views import backup_confirm_view

admin.site.site_header = _("Recepción FE")
admin.site.site_title = _("Recepción FE")
admin.site.index_title = _("Recepción de documentos electrónicos")


def favicon_view(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """The site's icon where browsers look for it (resolved per request: the static
    storage's manifest names it only once collectstatic has run)."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("respaldo/confirmar/<str:token>/", backup_confirm_view, name="backup-confirm"),
    path("health/", health_view, name="health"),
    # Browsers ask for it on every page whatever the page links: no 404 in the logs.
    path("favicon.ico", favicon_view, name="favicon"),
]
