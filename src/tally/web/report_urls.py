"""URLs of the reports, automatic-rules and FX rates pages (included by ``tally.web.urls``)."""

from __future__ import annotations

from django.urls import path

from tally.web.views import exports, fxrates, reports, rules

urlpatterns = [
    path("reports/", reports.report_index, name="report-index"),
    path("reports/<slug:name>/", reports.plan_report, name="plan-report"),
    path("reports/<slug:name>/<str:what>.<str:extension>", exports.start_report, name="plan-report-export"),
    path("rules/<slug:name>/", rules.plan_rules, name="plan-rules"),
    path("rates/", fxrates.rate_list, name="fx-rates"),
]
