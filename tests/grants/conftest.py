import pytest

from tests.grants.factories import make_grant, make_tree


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
    }}  # fmt: skip


@pytest.fixture
def tree(db):
    """AIF-2024-2027 (EUR 800M) ⊃ AIF-2024 (EUR 400M)."""
    return make_tree()


@pytest.fixture
def grant(applicant, programme_officer, finance_officer, freezer):
    """A prepared grant of EUR 140,000,000.00 EU contribution (NEW_SYSTEM_BUDGET), from a selected proposal."""
    return make_grant(applicant=applicant, officer=programme_officer, freezer=freezer, actor=finance_officer)
