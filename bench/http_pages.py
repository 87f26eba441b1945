"""The busiest pages served the way production serves them, each as a ratio to a trivial page in the same run.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/http_pages.py
       [--repeat 50] [--warmup 5] [--max-seconds 300] [--workers 2]

Builds the scale dataset when it is missing (manage.py seed_scale), starts gunicorn on a free loopback port
(`--workers` sync workers, bench/bench_settings.py: the project's settings with DEBUG off and the trivial page
added to the URLs), signs in as the programme officer and the finance officer through the login form (its CSRF
token, a password POST, the session cookie), warms every page up, then times `--repeat` rounds of sequential GETs,
one request per page a round (so that noise from other processes falls on every page alike), and stops early when
`--max-seconds` have passed. Latency is the client's: from sending the request to reading the whole body. Each
page's ratio is its median ÷ the median of the trivial view for the same user (signed in, the same middleware
and session, a few bytes of text: what the framework costs); the last column divides by the trivial page
instead (the same and the base template with its navigation: the baseline of the other benchmarks). The query
counts come from one in-process request per page with the same settings. Stops gunicorn (the process it started)
at the end. Reads only; nothing but 127.0.0.1 is contacted.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _gunicorn import start_gunicorn, stop  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path[:0] = [str(BENCH), str(ROOT)]
SETTINGS = "bench_settings"
PASSWORD = "scale-only-password"  # noqa: S105 (the scale dataset's logins; README "Proof")
TRIVIAL = "/bench/bare/"  # the trivial view: every page's ratio
ANONYMOUS = ""  # the requests without a session
TRIVIAL_PAGE = "/bench/trivial/"  # the trivial page (base template): the other benchmarks' baseline


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_scale_dataset() -> None:
    """`manage.py seed_scale` with the project's settings: builds the dataset when missing, says so otherwise."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "eurohpc.settings"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "seed_scale"], cwd=ROOT, env=env, check=True)  # noqa: S603


def targets() -> tuple[list[dict], dict]:
    """The pages measured (label, user, path, rows shown, goal) and the dataset's counts, read in-process."""
    from ranking import largest_cut_offs

    from calls.models import Proposal
    from calls.selectors import submissions
    from eurohpc.models import User
    from grants.models import Grant, LedgerEntry
    from hosting.models import Machine, UsageRecord

    operator = User.objects.get(username="scale-operator-000")
    machine = Machine.objects.visible_to(operator).order_by("name").first()
    cut_off, _ = largest_cut_offs()
    listed = submissions().count()
    pages = [
        {"page": "`/officer/submissions/`", "user": "scale-officer", "path": "/officer/submissions/",
         "rows": f"{listed:,} proposals, 50/page", "goal": 15},
        {"page": f"ranking of the largest cut-off (#{cut_off.pk})", "user": "scale-officer",
         "path": f"/officer/evaluation/cut-offs/{cut_off.pk}/ranking/", "rows": f"{cut_off.n:,} ranked, 100/page",
         "goal": 40},
        {"page": "`/finance/`", "user": "scale-finance", "path": "/finance/",
         "rows": f"{LedgerEntry.objects.count():,} ledger entries, {Grant.objects.count():,} grants", "goal": 25},
        {"page": f"`/machines/{machine.pk}/`", "user": "scale-officer", "path": f"/machines/{machine.pk}/",
         "rows": f"{UsageRecord.objects.filter(machine=machine).count():,} usage rows on the machine", "goal": 20},
        {"page": "`/api/v1/proposals/`", "user": "scale-officer", "path": "/api/v1/proposals/",
         "rows": f"{listed:,} proposals, 50/page", "goal": 10},
    ]  # fmt: skip
    dataset = {"proposals": Proposal.objects.count()}
    return pages, dataset


def count_queries(pages: list[dict]) -> dict[str, int]:
    """Queries of one request to each page (and the trivial page), in-process, after a first request."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from eurohpc.models import User

    clients, counts = {}, {}
    for spec in [{"user": p["user"], "path": path} for p in pages for path in (TRIVIAL, TRIVIAL_PAGE)] + pages:
        client = clients.get(spec["user"])
        if client is None:
            client = clients[spec["user"]] = Client()
            client.force_login(User.objects.get(username=spec["user"]))
        assert client.get(spec["path"]).status_code == 200, spec["path"]
        with CaptureQueriesContext(connection) as captured:
            client.get(spec["path"])
        counts[(spec["user"], spec["path"])] = len(captured)
    return counts


def server_env() -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONPATH": f"{BENCH}{os.pathsep}{ROOT}"}
    env.pop("DJANGO_DEBUG", None)
    return env


def anonymous_session():
    import requests

    return requests.Session()


def sign_in(base: str, username: str):
    """A requests session signed in through the login form, as a browser would."""
    import requests

    session = requests.Session()
    form = session.get(f"{base}/accounts/login/", timeout=30)
    form.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, "no CSRF token on the login form"
    answer = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, f"login of {username} answered {answer.status_code}"
    check = session.get(f"{base}{TRIVIAL}", allow_redirects=False, timeout=30)
    assert check.status_code == 200, f"{username} is not signed in after the form ({check.status_code})"
    return session


def timed_get(session, url: str) -> float:
    start = time.perf_counter()
    response = session.get(url, allow_redirects=False, timeout=120)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code)
    assert response.content
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop the timed rounds after this long")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to the PostgreSQL database of the scale dataset (e.g. …/aif_scale).")
        return 2
    ensure_scale_dataset()
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from _common import analyze

    analyze()
    pages, _ = targets()
    queries = count_queries(pages)
    users = sorted({p["user"] for p in pages})
    measured = []
    for user in users:
        measured.append({"page": f"trivial view ({user})", "user": user, "path": TRIVIAL, "rows": "", "goal": None})
        measured.append({"page": f"trivial page ({user})", "user": user, "path": TRIVIAL_PAGE, "rows": "",
                         "goal": None})  # fmt: skip
    measured += pages
    # The cheapest answer of the server, for comparison: no session, no database, no template.
    measured.insert(0, {"page": "`/health/` without a session", "user": ANONYMOUS, "path": "/health/", "rows": "",
                        "goal": None})  # fmt: skip
    load_before = os.getloadavg()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    samples: dict[int, list[float]] = {i: [] for i in range(len(measured))}
    with tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log") as log:
        process = start_gunicorn(port, args.workers, log, env=server_env())
        try:
            sessions = {u: sign_in(base, u) for u in users}
            sessions[ANONYMOUS] = anonymous_session()
            for _ in range(args.warmup):
                for spec in measured:
                    timed_get(sessions[spec["user"]], base + spec["path"])
            started = time.monotonic()
            rounds = 0
            while rounds < args.repeat and time.monotonic() - started < args.max_seconds:
                for i, spec in enumerate(measured):
                    samples[i].append(timed_get(sessions[spec["user"]], base + spec["path"]))
                rounds += 1
            seconds = time.monotonic() - started
        finally:
            stop(process)
        log.seek(0)
        errors = [line.rstrip() for line in log if "Traceback" in line or "Error" in line]
    load_after = os.getloadavg()

    medians = {i: statistics.median(s) for i, s in samples.items()}
    health = medians[0]
    trivial = {
        ANONYMOUS: health,
        **{spec["user"]: medians[i] for i, spec in enumerate(measured) if spec["path"] == TRIVIAL},
    }
    trivial_page = {ANONYMOUS: health, **{spec["user"]: medians[i] for i, spec in enumerate(measured)
                                          if spec["path"] == TRIVIAL_PAGE}}  # fmt: skip
    print(
        f"gunicorn, {args.workers} sync workers, bench/bench_settings.py (DEBUG off), PostgreSQL, scale dataset; "
        f"login through the form; {args.warmup} warm-up and {rounds} timed sequential requests per page, "
        f"interleaved ({seconds:.0f} s); load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print()
    print("| page | rows | queries | median ms | p90 ms | ratio | goal | ÷ trivial page | ÷ `/health/` |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    missed = []
    for i, spec in enumerate(measured):
        ordered = sorted(samples[i])
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        ratio = medians[i] / trivial[spec["user"]]
        goal = ""
        if spec["goal"] is not None:
            met = ratio <= spec["goal"]
            goal = f"≤ {spec['goal']}× {'met' if met else 'NOT met'}"
            if not met:
                missed.append(spec["page"])
        n_queries = queries.get((spec["user"], spec["path"]), 0)
        print(f"| {spec['page']} | {spec['rows']} | {n_queries} | {medians[i]:.1f} | {p90:.1f} | "
              f"{ratio:.1f}× | {goal} | {medians[i] / trivial_page[spec['user']]:.1f}× | "
              f"{medians[i] / health:.1f}× |")  # fmt: skip
    print()
    print(f"goals missed: {', '.join(missed)}" if missed else "every goal met")
    strict = [spec["page"] for i, spec in enumerate(measured) if spec["goal"] and medians[i] / health > spec["goal"]]
    print(
        "divided by `/health/` without a session instead (no session, no user, no database): "
        + (f"goals missed: {', '.join(strict)}" if strict else "every goal met")
    )
    if errors:
        print("server log:", *errors[:10], sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
