"""Pages of the evaluation and selection. Registers the navigation entries and the dashboard panels' evaluation
work (the evaluator's assignments, the officer's to-do list)."""

from django.urls import path

from calls.evaluation import views
from eurohpc.models import Role
from eurohpc.navigation import NavEntry, register
from eurohpc.views import DASHBOARD_CONTEXT

register(NavEntry("My evaluations", "evaluation-assignments", perm="calls.evaluate"), before="audit-list")
register(NavEntry("Evaluation", "evaluation-cut-offs", perm="calls.view_evaluation"), before="audit-list")
for role, provider in (
    (Role.EVALUATOR, views.evaluator_dashboard_context),
    (Role.PROGRAMME_OFFICER, views.officer_dashboard_context),
):
    if provider not in DASHBOARD_CONTEXT[role]:
        DASHBOARD_CONTEXT[role].append(provider)

urlpatterns = [
    # evaluator
    path("evaluation/", views.evaluator_assignments, name="evaluation-assignments"),
    path("evaluation/assignments/<id:pk>/", views.assignment_page, name="evaluation-assignment"),
    path("evaluation/assignments/<id:pk>/declaration/", views.assignment_declare, name="evaluation-declare"),
    path("evaluation/assignments/<id:pk>/review/", views.assignment_review, name="evaluation-review"),
    path(
        "evaluation/assignments/<id:pk>/documents/<id:document_id>/",
        views.assignment_document,
        name="evaluation-document",
    ),
    # programme officer
    path("officer/evaluation/", views.cut_off_list, name="evaluation-cut-offs"),
    path("officer/evaluation/cut-offs/<id:pk>/assignments/", views.assignment_board, name="evaluation-board"),
    path("officer/evaluation/cut-offs/<id:pk>/assignments/add/", views.assignment_add, name="evaluation-assign"),
    path("officer/evaluation/cut-offs/<id:pk>/auto-assign/", views.auto_assign, name="evaluation-auto-assign"),
    path("officer/evaluation/cut-offs/<id:pk>/ranking/", views.ranking_page, name="evaluation-ranking"),
    path("officer/evaluation/cut-offs/<id:pk>/confirm/", views.decisions_confirm, name="evaluation-confirm"),
    path("officer/evaluation/cut-offs/<id:pk>/publish/", views.decisions_publish, name="evaluation-publish"),
    path("officer/evaluation/proposals/<id:pk>/consensus/", views.consensus_page, name="evaluation-consensus"),
    path("officer/evaluation/proposals/<id:pk>/decision/", views.decision_record, name="evaluation-decision"),
    path("officer/evaluation/proposals/<id:pk>/promote/", views.reserve_promote, name="evaluation-promote"),
    path(
        "officer/evaluation/proposals/<id:pk>/summary-report/retry/",
        views.summary_report_retry,
        name="evaluation-report-retry",
    ),
    # applicant
    path("proposals/<id:pk>/outcome/", views.outcome_page, name="proposal-outcome"),
    path("proposals/<id:pk>/outcome/withdraw/", views.selection_withdraw, name="proposal-selection-withdraw"),
    path(
        "proposals/<id:pk>/evaluation-summary-report.pdf",
        views.summary_report_download,
        name="proposal-summary-report",
    ),
]
