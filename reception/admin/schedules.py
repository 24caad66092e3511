"""django-q2's scheduled tasks in the admin, fitted to a 1366 px screen.

django-q2 registers its own ModelAdmin; this one keeps its behaviour, drops two columns that
say nothing here and adds the list style our other lists use (cells wrap instead of pushing
columns off screen). Its texts
are translated by the project's catalogue (locale/), as django-q2 ships no Spanish.
"""

from __future__ import annotations

from django.contrib import admin
from django_q.admin import ScheduleAdmin
from django_q.models import Schedule

#: The lists' shared style sheet (reception/static/reception/admin_lists.css).
LIST_CSS = {"all": ["reception/admin_lists.css"]}


class FittedScheduleAdmin(ScheduleAdmin):
    """django-q2's list without its id, repeats and cluster columns (ours repeat forever, in
    one cluster: always "-1" and "-"), so that the name, the function and the runs fit beside
    the filters."""

    list_display = (
        "name",
        "func",
        "schedule_type",
        "next_run",
        "get_last_run",
        "get_success",
    )
    list_display_links = ("name",)

    class Media:
        css = LIST_CSS


admin.site.unregister(Schedule)
admin.site.register(Schedule, FittedScheduleAdmin)
