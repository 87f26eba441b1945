"""Settings of the HTTP benchmark (bench/http_pages.py): the project's settings as production serves pages.

As eurohpc/settings/production.py: DEBUG off (so Django caches compiled templates) and persistent database
connections (CONN_MAX_AGE). Unlike it: plain HTTP on loopback (no secure-only cookies, no HTTPS redirect, no
static manifest to collect), the staff second factor off (the benchmark signs in through the password form only),
and the benchmark's URL configuration: the product's URLs plus the trivial page every ratio is measured against.
"""

from eurohpc.settings import *  # noqa: F403

DEBUG = False
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405 (as production)
STAFF_REQUIRE_2FA = False
ROOT_URLCONF = "bench_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
