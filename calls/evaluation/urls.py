"""Pages of the evaluation and selection. Registers the navigation entries and the dashboard panels' evaluation
work (the evaluator's assignments, the officer's to-do list)."""

from django.urls import path

from calls.evaluation import views, views_deadlines, views_redress, views_technical
from eurohpc.models import Role
from eurohpc.navigation import NavEntry, register
from eurohpc.views import DASHBOARD_CONTEXT

register(NavEntry("My evaluations", "evaluation-assignments", perm="calls.evaluate"), before="audit-list")
register(NavEntry("Evaluation", "evaluation-cut-offs", perm="calls.view_evaluation"), before="audit-list")
register(NavEntry("Technical assessments", "evaluation-technical", perm="calls.assess_technical"), before="audit-list")
for role, provider in (
    (Role.EVALUATOR, views.evaluator_dashboard_context),
    (Role.PROGRAMME_OFFICER, views.officer_dashboard_context),
    (Role.PROGRAMME_OFFICER, views_redress.officer_dashboard_context),
    (Role.APPLICANT, views_redress.applicant_dashboard_context),
    (Role.TECHNICAL_EXPERT, views_technical.technical_expert_dashboard_context),
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
    # technical expert
    path("evaluation/technical/", views_technical.expert_assessments, name="evaluation-technical"),
    path("evaluation/technical/<id:pk>/", views_technical.assessment_page, name="evaluation-technical-assessment"),
    path(
        "evaluation/technical/<id:pk>/declaration/",
        views_technical.assessment_declare,
        name="evaluation-technical-declare",
    ),
    path("evaluation/technical/<id:pk>/assessment/", views_technical.assessment_save, name="evaluation-technical-save"),
    # programme officer
    path("officer/evaluation/technical/", views_technical.technical_queue, name="evaluation-technical-queue"),
    path(
        "officer/evaluation/technical/proposals/<id:pk>/assign/",
        views_technical.technical_assign,
        name="evaluation-technical-assign",
    ),
    path(
        "officer/evaluation/technical/assessments/<id:pk>/reassign/",
        views_technical.technical_reassign,
        name="evaluation-technical-reassign",
    ),
    path("officer/evaluation/", views.cut_off_list, name="evaluation-cut-offs"),
    path("officer/evaluation/overdue/", views_deadlines.overdue_page, name="evaluation-overdue"),
    path(
        "officer/evaluation/assignments/<id:pk>/reassign/",
        views_deadlines.assignment_reassign,
        name="evaluation-reassign",
    ),
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
    # evaluation reviews (redress): the programme office and the review committee
    path("officer/evaluation/redress/", views_redress.redress_list, name="redress-list"),
    path("officer/evaluation/redress/<id:pk>/", views_redress.redress_detail, name="redress-detail"),
    path(
        "officer/evaluation/redress/<id:pk>/admissibility/",
        views_redress.redress_admissibility,
        name="redress-admissibility",
    ),
    path("officer/evaluation/redress/<id:pk>/committee/", views_redress.redress_committee, name="redress-committee"),
    path("officer/evaluation/redress/<id:pk>/declaration/", views_redress.redress_declare, name="redress-declare"),
    path("officer/evaluation/redress/<id:pk>/opinion/", views_redress.redress_opinion, name="redress-opinion"),
    path("officer/evaluation/redress/<id:pk>/conclude/", views_redress.redress_conclude, name="redress-conclude"),
    # evaluation reviews (redress): the applicant
    path("proposals/<id:pk>/evaluation-review/", views_redress.redress_request, name="redress-request"),
    path("evaluation-reviews/<id:pk>/", views_redress.redress_receipt, name="redress-receipt"),
    # applicant
    path("proposals/<id:pk>/outcome/", views.outcome_page, name="proposal-outcome"),
    path("proposals/<id:pk>/outcome/withdraw/", views.selection_withdraw, name="proposal-selection-withdraw"),
    path(
        "proposals/<id:pk>/evaluation-summary-report.pdf",
        views.summary_report_download,
        name="proposal-summary-report",
    ),
]
