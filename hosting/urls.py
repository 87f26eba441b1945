"""Pages of the hosting app: machines and quotas, projects and allocations, usage imports."""

from django.urls import path

from eurohpc.navigation import NavEntry, register
from hosting import views

app_name = "hosting"

register(NavEntry("Machines", "hosting:machine-list", perm="hosting.view_machine_list"), before="audit-list")
register(NavEntry("Quota", "hosting:operator-quota", perm="hosting.view_operator_quota"), before="audit-list")
register(NavEntry("Projects", "hosting:project-list", perm="hosting.view_project_list"), before="audit-list")
register(NavEntry("Allocations", "hosting:allocation-list", perm="hosting.view_allocation_list"), before="audit-list")

urlpatterns = [
    path("machines/", views.machine_list, name="machine-list"),
    path("machines/new/", views.machine_new, name="machine-new"),
    path("machines/<id:pk>/", views.machine_detail, name="machine-detail"),
    path("machines/<id:pk>/partitions/", views.machine_partition_new, name="machine-partition-new"),
    path("machines/<id:pk>/agreements/", views.machine_agreement_new, name="machine-agreement-new"),
    path("machines/<id:pk>/periods/", views.machine_period_new, name="machine-period-new"),
    path("machines/<id:pk>/usage/", views.usage_upload, name="usage-upload"),
    path("machines/<id:pk>/usage/<id:import_id>/", views.usage_import_detail, name="usage-import-detail"),
    path("quota/", views.operator_quota, name="operator-quota"),
    path("allocations/", views.allocation_list, name="allocation-list"),
    path("allocations/new/", views.allocation_new, name="allocation-new"),
    path("projects/", views.project_list, name="project-list"),
    path("projects/new/", views.project_new, name="project-new"),
    path("projects/<id:pk>/", views.project_detail, name="project-detail"),
]
