"""django-q2's scheduled tasks in the admin, fitted to a 1366 px screen.

django-q2 registers its own ModelAdmin; this one keeps its behaviour and adds only the list
style our other lists use (long cells wrap instead of pushing columns off screen). Its texts
are translated by the project's catalogue (locale/), as django-q2 ships no Spanish.
"""

from __future__ import annotations

from django.contrib import admin
from django_q.admin import ScheduleAdmin
from django_q.models import Schedule

#: The lists' shared style sheet (reception/static/reception/admin_lists.css).
LIST_CSS = {"all": ["reception/admin_lists.css"]}


class FittedScheduleAdmin(ScheduleAdmin):
    class Media:
        css = LIST_CSS


admin.site.unregister(Schedule)
admin.site.register(Schedule, FittedScheduleAdmin)
