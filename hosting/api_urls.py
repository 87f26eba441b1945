"""API URLs of the hosting app, under /api/v1/."""

from django.urls import path

from hosting import api

urlpatterns = [
    path("machines/", api.MachineListApi.as_view(), name="api-machines"),
    path("machines/<int:pk>/", api.MachineDetailApi.as_view(), name="api-machine"),
    path("machines/<int:pk>/partitions/", api.MachinePartitionListApi.as_view(), name="api-machine-partitions"),
    path("machines/<int:pk>/periods/", api.MachinePeriodListApi.as_view(), name="api-machine-periods"),
    path("machines/<int:pk>/quota/", api.MachineQuotaApi.as_view(), name="api-machine-quota"),
    path("machines/<int:pk>/usage-imports/", api.UsageImportListApi.as_view(), name="api-usage-imports"),
    path(
        "machines/<int:pk>/usage-imports/<int:import_id>/", api.UsageImportDetailApi.as_view(), name="api-usage-import"
    ),
    path("projects/", api.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<int:pk>/", api.ProjectDetailApi.as_view(), name="api-project"),
    path("allocations/", api.AllocationListApi.as_view(), name="api-allocations"),
    path("allocations/<int:pk>/", api.AllocationDetailApi.as_view(), name="api-allocation"),
]
