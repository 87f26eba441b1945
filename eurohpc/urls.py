from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from eurohpc import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("audit/verify/", views.audit_verify, name="audit-verify"),
    path("accounts/", include("eurohpc.identity.urls")),
    path("officer/registrations/", include("eurohpc.identity.urls_registration_office")),
    path("admin/", admin.site.urls),
    path("", include("calls.urls")),
    path("", include("hosting.urls")),
    path("", include("calls.evaluation.urls")),
    path("", include("calls.access.urls")),
    path("", include("grants.urls")),
    path("api/v1/", include("eurohpc.api.urls")),
    path("api/v1/", include("calls.api_urls")),
    path("api/v1/", include("hosting.api_urls")),
    path("api/v1/", include("calls.evaluation.api_urls")),
    path("api/v1/", include("calls.access.api_urls")),
    path("api/v1/", include("grants.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

handler400 = "eurohpc.errorpages.bad_request"
handler403 = "eurohpc.errorpages.permission_denied"
handler404 = "eurohpc.errorpages.not_found"
handler500 = "eurohpc.errorpages.server_error"
