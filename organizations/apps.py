from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = _("Organizaciones")

    def ready(self) -> None:
        # The admin modules were imported by django.contrib.admin's own ready(), listed first.
        from django.contrib import admin

        from organizations.admin import restrict_other_admins

        restrict_other_admins(admin.site)
