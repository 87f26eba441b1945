"""Shared set-up of the benchmarks: Django against DATABASE_URL, timing helpers, a results table."""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eurohpc.settings")


def setup() -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ROOT_URLCONF = "bench_urls"
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def logged_in(username: str):
    """A test client logged in as `username` (a user of the scale dataset)."""
    from django.test import Client

    from eurohpc.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def page(client, path: str):
    """What a page benchmark times: GET `path` with `client`, checking that it answers 200."""

    def run():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    return run


def median_ms(fn, *, repeat: int = 30, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def count_queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def report(title: str, rows: list[tuple[str, float, int | None]], baseline: float) -> None:
    print(f"\n{title}")
    print(f"{'measure':<48} {'median ms':>10} {'queries':>8} {'ratio':>8}")
    for name, ms, queries in rows:
        print(f"{name:<48} {ms:>10.2f} {queries if queries is not None else '':>8} {ms / baseline:>7.1f}x")


def analyze() -> None:
    """Refresh the planner's statistics after bulk loading, as autovacuum would."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def ensure_scale_dataset() -> None:
    """Build the scale dataset (`manage.py seed_scale`, default counts) when the database lacks it.

    Runs in its own process, with the project's settings (real password hashes for the scale users).
    """
    import subprocess

    subprocess.run([sys.executable, str(ROOT / "manage.py"), "seed_scale"], cwd=ROOT, check=True)  # noqa: S603
