"""URLs of the hosting pages."""

app_name = "hosting"

urlpatterns: list = []
