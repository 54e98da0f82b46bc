from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tally.web.api.root import api
from tally.web.lockout import LoginForm
from tally.web.views import acquisition, bill_detail, bills, breaks, dashboard, health, source_new, sources, upload

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("breaks/", breaks.break_list, name="break-list"),
    path("breaks/<int:pk>/", breaks.break_detail, name="break-detail"),
    path("", include("tally.web.workflow_urls")),
    path("bills/", bills.bill_list, name="bill-list"),
    path("bills/upload/", upload.upload, name="bill-upload"),
    path("bills/upload/<int:pk>/", upload.upload_job, name="bill-upload-job"),
    path("bills/upload/<int:pk>/progress/", upload.upload_job_progress, name="bill-upload-job-progress"),
    path("bills/<int:pk>/", bill_detail.bill_detail, name="bill-detail"),
    path("bills/<int:pk>/raw", bill_detail.bill_raw, name="bill-raw"),
    path("bills/<int:pk>/lines/", bill_detail.bill_lines, name="bill-lines"),
    path("calendar/", acquisition.calendar, name="calendar"),
    path("calendar/retry/", acquisition.retry, name="fetch-retry"),
    path("sources/", sources.source_list, name="source-list"),
    path("sources/new/", source_new.source_new, name="source-new"),
    path("sources/new/<str:token>/", source_new.source_map, name="source-map"),
    path("sources/<slug:name>/", sources.source_detail, name="source-detail"),
    path("sources/<slug:name>/fetches/", acquisition.fetch_history, name="source-fetches"),
    path("", include("tally.web.office_urls")),
    path("", include("tally.web.report_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("api/", api.urls),
    path("login/", auth_views.LoginView.as_view(template_name="tally/login.html", authentication_form=LoginForm,
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
