"""The back office's own pages: data browser, exports, runs, plans, users, preferences and settings."""

from __future__ import annotations

from django.urls import path

from tally.web.views import browser, exports, plans, runs, site_settings, users

urlpatterns = [
    path("browse/", browser.browser, name="browser"),
    path("browse/count/", browser.record_count, name="browser-count"),
    path("browse/export.<str:fmt>", exports.start_records, name="browser-export"),
    path("exports/", exports.export_list, name="export-list"),
    path("exports/<int:pk>/", exports.export_job, name="export-job"),
    path("exports/<int:pk>/progress", exports.export_job_progress, name="export-job-progress"),
    path("exports/<int:pk>/download", exports.export_download, name="export-download"),
    path("plans/", plans.plan_list, name="plan-list"),
    path("plans/<slug:name>/", plans.plan_detail, name="plan-detail"),
    path("plans/<slug:name>/edit/", plans.plan_edit, name="plan-edit"),
    path("plans/<slug:name>/run/", runs.run_start, name="run-start"),
    path("plans/<slug:name>/rerun/", runs.rerun_from, name="run-rerun"),
    path("runs/", runs.run_list, name="run-list"),
    path("runs/<int:pk>/", runs.run_detail, name="run-detail"),
    path("runs/jobs/<int:pk>/", runs.run_job, name="run-job"),
    path("runs/jobs/<int:pk>/progress/", runs.run_job_progress, name="run-job-progress"),
    path("users/", users.user_list, name="user-list"),
    path("users/<int:pk>/", users.user_detail, name="user-detail"),
    path("preferences/", users.preferences, name="preferences"),
    path("settings/", site_settings.site_settings, name="site-settings"),
    # Before django.conf.urls.i18n's own: the switch also keeps a logged-in user's choice.
    path("i18n/setlang/", users.switch_language, name="set_language"),
]
