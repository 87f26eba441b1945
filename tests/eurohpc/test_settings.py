import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "eurohpc.settings.production",
    "SECRET_KEY": "t3st-only-9fK2mQ8vLr5ZpXw7Nc4Hs6Jd1Gb0Ye2Ua8Ri3To5Wq7Ez9Mx",
    "DATABASE_URL": "sqlite:////tmp/aif-check.sqlite3",
    "ALLOWED_HOSTS": "aif-grants.example.eu",
    "GRANTS_PUBLIC_BASE_URL": "https://aif-grants.example.eu",
}


def run_manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "GRANTS_PUBLIC_BASE_URL"])
def test_production_settings_refuse_to_start_without_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert f"Production settings need the environment variable {missing}; it is not set." in result.stderr


def test_production_settings_pass_check_deploy_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_demo_users():
    result = run_manage("seed_demo", env=PRODUCTION_ENV)
    assert result.returncode == 1
    assert "seed_demo refuses to create demo users under production settings." in result.stderr


def test_default_settings_use_embedded_components(settings):
    assert settings.TIME_ZONE == "Europe/Luxembourg"
    assert settings.USE_TZ is True
    assert settings.AUTH_USER_MODEL == "eurohpc.User"


def test_production_settings_require_a_second_factor_of_staff(settings):
    code = (
        "from django.conf import settings as s; "
        "print(s.STAFF_REQUIRE_2FA, s.STAFF_SESSION_IDLE_MINUTES, s.DATABASES['default']['CONN_MAX_AGE'])"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "30", "60"]  # and database connections persist for 60 s
    assert settings.STAFF_REQUIRE_2FA is False  # the embedded demo offers it without requiring it
