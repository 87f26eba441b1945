"""API URLs of the hosting app, under /api/v1/."""

from django.urls import path

from hosting import api

urlpatterns = [
    path("machines/", api.MachineListApi.as_view(), name="api-machines"),
    path("machines/<id:pk>/", api.MachineDetailApi.as_view(), name="api-machine"),
    path("machines/<id:pk>/partitions/", api.MachinePartitionListApi.as_view(), name="api-machine-partitions"),
    path("machines/<id:pk>/periods/", api.MachinePeriodListApi.as_view(), name="api-machine-periods"),
    path("machines/<id:pk>/quota/", api.MachineQuotaApi.as_view(), name="api-machine-quota"),
    path("machines/<id:pk>/usage-imports/", api.UsageImportListApi.as_view(), name="api-usage-imports"),
    path("machines/<id:pk>/usage-imports/<id:import_id>/", api.UsageImportDetailApi.as_view(), name="api-usage-import"),
    path("projects/", api.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<id:pk>/", api.ProjectDetailApi.as_view(), name="api-project"),
    path("allocations/", api.AllocationListApi.as_view(), name="api-allocations"),
    path("allocations/<id:pk>/", api.AllocationDetailApi.as_view(), name="api-allocation"),
]
