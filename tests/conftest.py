import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from eurohpc.celery import app as celery_app
from eurohpc.models import Role
from tests.factories import OrganisationFactory, UserFactory

# A loopback OpenID Connect provider for the single sign-on tests (`oidc_provider`, `sso`).
pytest_plugins = ["tests.eurohpc.oidc_fixtures"]


@pytest.fixture(autouse=True)
def _fast_passwords_and_eager_tasks(settings, tmp_path, request):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Uploaded documents and generated PDFs of a test go to its own folder (on the seeded demo: the demo's folder).
    private = tmp_path / "private"
    if "seeded_demo" in request.fixturenames:
        private = request.getfixturevalue("seeded_demo_files")
    settings.PRIVATE_STORAGE_ROOT = private
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(private), "base_url": None},
        },
    }
    # Tests run tasks in-process unless they start a real worker themselves (see test_celery_worker).
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture(autouse=True)
def _ledger_sums_forgotten():
    """Each test's ledger is its own: sums of settled entries kept in memory by another test do not apply."""
    from grants.selectors import settled_sums_forget

    settled_sums_forget()


requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"
)


@pytest.fixture
def organisation(db):
    return OrganisationFactory(short_name="CSC", legal_name="CSC - IT Center for Science Ltd.", country="FI")


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(short_name="CINECA", legal_name="CINECA Consorzio Interuniversitario", country="IT")


@pytest.fixture
def applicant(organisation):
    return UserFactory(username="applicant", organisation=organisation, roles=[Role.APPLICANT])


@pytest.fixture
def other_applicant(other_organisation):
    return UserFactory(username="applicant2", organisation=other_organisation, roles=[Role.APPLICANT])


@pytest.fixture
def evaluator(db):
    return UserFactory(username="evaluator1", roles=[Role.EVALUATOR])


@pytest.fixture
def programme_officer(db):
    return UserFactory(username="officer", roles=[Role.PROGRAMME_OFFICER])


@pytest.fixture
def finance_officer(db):
    return UserFactory(username="finance", roles=[Role.FINANCE_OFFICER])


@pytest.fixture
def hosting_operator(organisation):
    return UserFactory(username="operator", organisation=organisation, roles=[Role.HOSTING_OPERATOR])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", roles=[Role.ADMIN])


@pytest.fixture
def api():
    return APIClient()


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def freezer(monkeypatch):
    """Move the clock: freezer(aware_datetime) makes timezone.now() return it from then on."""

    def move(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return move


@contextmanager
def clock_moved_back(monkeypatch, **delta):
    """timezone.now() moved back by `delta` until the block ends, real time again afterwards.

    The block gets the moment and `move(moment)`, which moves the clock again within the block. Used to build
    state whose deadlines have passed before a live server or a client handles any request (a live server's
    thread would see the patched clock too, so nothing is requested meanwhile).
    """
    with monkeypatch.context() as patch:

        def move(moment):
            patch.setattr(timezone, "now", lambda: moment)
            return moment

        yield move(timezone.now() - timedelta(**delta)), move


def race(*jobs) -> tuple[list, list[Exception]]:
    """Start every job at once (a barrier), each in its own thread and database connection.

    Returns the jobs' results in order (None where a job raised) and the exceptions raised.
    """
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []

    def run(index, job):
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def queries_of_page(client, user, url: str) -> int:
    """The number of queries `user` costs to open `url` (200), for tests comparing one row with several."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.fixture(scope="module")
def seeded_demo_files(tmp_path_factory):
    """The folder of the seeded demo's uploaded documents and generated PDFs, for the module's tests."""
    return tmp_path_factory.mktemp("demo-private")


@pytest.fixture(scope="module")
def seeded_demo(django_db_setup, django_db_blocker, seeded_demo_files):
    """The demo seeded once for the tests of a module (it takes half a minute), committed; each test then runs in its
    own transaction, rolled back as usual, and the module's last test is followed by an empty database again.
    Yields what seed_demo printed. Seeded as the tests' own settings would: fast passwords, eager tasks, files in a
    temporary folder."""
    import io

    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    private = seeded_demo_files
    storages = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(private), "base_url": None},
        },
    }
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    out = io.StringIO()
    try:
        with (
            override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                PRIVATE_STORAGE_ROOT=private,
                STORAGES=storages,
            ),
            django_db_blocker.unblock(),
        ):
            call_command("seed_demo", stdout=out)
        yield out.getvalue()
    finally:
        celery_app.conf.task_always_eager = eager
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)
