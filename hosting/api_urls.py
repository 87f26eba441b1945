"""API URLs of the hosting app, under /api/v1/."""

urlpatterns: list = []
