"""URLs of the break workflow pages (included by ``tally.web.urls``)."""

from __future__ import annotations

from django.urls import path

from tally.web.views import approvals, workflow

urlpatterns = [
    path("breaks/<int:pk>/propose/", workflow.propose, name="break-propose"),
    path("breaks/<int:pk>/assign/", workflow.assign, name="break-assign"),
    path("breaks/<int:pk>/comment/", workflow.comment, name="break-comment"),
    path("breaks/<int:pk>/attach/", workflow.attach, name="break-attach"),
    path("breaks/evidence/<int:pk>/", workflow.download, name="attachment-download"),
    path("breaks/bulk/", approvals.bulk, name="break-bulk"),
    path("approvals/", approvals.inbox, name="approvals"),
    path("actions/<int:pk>/approve/", approvals.approve, name="action-approve"),
    path("actions/<int:pk>/reject/", approvals.reject, name="action-reject"),
    path("actions/<int:pk>/undo/", approvals.undo, name="action-undo"),
]
