"""Bounded load test: gunicorn on 127.0.0.1 serving the scale dataset, virtual users of the five roles.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/load.py
       [--users 50] [--duration 60] [--workers 2] [--think 5.0] [--max-requests 20000]

Builds the scale dataset when it is missing (manage.py seed_scale), prepares one session (pages) or API token
per virtual user in the database, starts gunicorn on a free loopback port, and runs the users in threads with
http.client for `--duration` seconds: each user loops over its role's requests with a random think time (mean
`--think` seconds) and stops at the deadline or when `--max-requests` have been sent in all. Then gunicorn is
stopped, the errors are listed (any unexpected status or failed request) and p50/p95 per page are printed and
written to docs/load.md (bench/run_all.py appends it to docs/benchmarks.md). Exit status 1 when a request failed.

Writes: applicants create drafts and set their budget (API), evaluators save review drafts (API); each write
goes through the services, with its audit event. Nothing but 127.0.0.1 is contacted.
"""

import argparse
import http.client
import json
import math
import os
import platform
import random
import socket
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from _gunicorn import start_gunicorn, stop  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eurohpc.settings")

# Role mix of the virtual users (shares of --users).
ROLE_NAMES = {"applicant": "applicants", "officer": "programme officers", "evaluator": "evaluators",
              "finance": "finance officers", "operator": "hosting operators"}  # fmt: skip
MIX = (("applicant", 0.30), ("officer", 0.20), ("evaluator", 0.20), ("finance", 0.16), ("operator", 0.14))
REQUEST_TIMEOUT = 60


class Done(Exception):
    """The deadline has passed or the run's request budget is spent."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(n_users: int, rng: random.Random) -> tuple[list[dict], dict]:
    """The virtual users (role, credentials, what they work on) and the dataset's counts."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from calls.models import Assignment, Call, Proposal, Review
    from eurohpc.identity.services.tokens import api_token_create
    from eurohpc.models import User
    from grants.models import LedgerEntry
    from hosting.models import Allocation, Machine, UsageRecord

    call_command("seed_scale")  # builds the dataset when missing, says so otherwise
    backend = "django.contrib.auth.backends.ModelBackend"
    assert backend in settings.AUTHENTICATION_BACKENDS

    def session_for(user: User) -> str:
        store = SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = backend
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    def token_for(user: User) -> str:
        # A write token for a day, under the dated default name; the run stands in for a holder who passed the
        # second factor (staff tokens need it where STAFF_REQUIRE_2FA is on).
        _, secret = api_token_create(user=user, name="", scope="write", days=1, second_factor=True, actor=user)
        return secret

    open_call = Call.objects.get(identifier="SCALE-AIF-02")
    viewable = list(
        Proposal.objects.filter(call__identifier__startswith="SCALE-")
        .exclude(status=Proposal.Status.DRAFT)
        .exclude(type=Proposal.Type.ACCESS)  # an access application's page is elsewhere (/proposals/{id}/ redirects)
        .order_by("?")
        .values_list("pk", flat=True)[:500]
    )
    draft_reviews: dict[int, list[int]] = defaultdict(list)
    for assignment_id, evaluator_id in Review.objects.filter(
        status=Review.Status.DRAFT, assignment__proposal__status=Proposal.Status.EVALUATION
    ).values_list("assignment_id", "assignment__evaluator_id"):
        draft_reviews[evaluator_id].append(assignment_id)
    evaluators = list(User.objects.filter(pk__in=list(draft_reviews)).order_by("username")) or list(
        User.objects.filter(username__startswith="scale-evaluator-").order_by("username")[:1]
    )
    applicants = list(User.objects.filter(username__startswith="scale-applicant-").order_by("username"))
    operators = list(
        User.objects.filter(username__startswith="scale-operator-", organisation__machines__isnull=False)
        .distinct()
        .order_by("username")
    )
    officer = User.objects.get(username="scale-officer")
    finance = User.objects.get(username="scale-finance")
    pages = max(1, Proposal.objects.exclude(status=Proposal.Status.DRAFT).count() // 50)
    users = []
    counts = dict.fromkeys(role for role, _ in MIX)
    for role, share in MIX:
        counts[role] = max(1, round(n_users * share))
    counts["applicant"] += n_users - sum(counts.values())
    for role, count in counts.items():
        for k in range(count):
            if role == "applicant":
                user = applicants[k % len(applicants)]
                users.append({"role": role, "token": token_for(user), "call": open_call.pk})
            elif role == "evaluator":
                user = evaluators[k % len(evaluators)]
                users.append({"role": role, "session": session_for(user), "token": token_for(user),
                              "assignments": draft_reviews[user.pk]})  # fmt: skip
            elif role == "officer":
                users.append({"role": role, "session": session_for(officer), "proposals": viewable, "pages": pages})
            elif role == "finance":
                users.append({"role": role, "session": session_for(finance)})
            else:
                users.append({"role": role, "session": session_for(operators[k % len(operators)])})
    rng.shuffle(users)
    dataset = {
        "proposals": Proposal.objects.count(),
        "reviews": Review.objects.count(),
        "assignments": Assignment.objects.count(),
        "ledger entries": LedgerEntry.objects.count(),
        "machines": Machine.objects.count(),
        "allocations": Allocation.objects.count(),
        "usage rows": UsageRecord.objects.count(),
    }
    return users, dataset


class VirtualUser(threading.Thread):
    def __init__(self, spec: dict, *, port: int, deadline: float, budget, think: float, seed: int):
        super().__init__(daemon=True)
        self.spec, self.port, self.deadline, self.budget, self.think = spec, port, deadline, budget, think
        self.rng = random.Random(seed)
        self.samples: list[tuple[str, float, int]] = []  # (page, ms, status)
        self.errors: list[str] = []

    # --- HTTP ---------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, page: str, *, body=None, expect=200, api=False):
        if time.monotonic() >= self.deadline or not self.budget.take():
            raise Done
        headers = {"Host": "127.0.0.1", "Accept": "application/json" if api else "text/html"}
        if api:
            headers["Authorization"] = f"Token {self.spec['token']}"
        else:
            headers["Cookie"] = f"sessionid={self.spec['session']}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        start = time.perf_counter()
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            content = response.read()
            status = response.status
        except OSError as exc:
            self.samples.append((page, (time.perf_counter() - start) * 1000, 0))
            self.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            return None
        finally:
            connection.close()
        self.samples.append((page, (time.perf_counter() - start) * 1000, status))
        if status != expect:
            self.errors.append(f"{method} {path}: {status} (expected {expect}): {content[:200]!r}")
            return None
        return json.loads(content) if api and content else content

    def pause(self) -> None:
        wait = min(self.rng.expovariate(1 / self.think), 4 * self.think) if self.think > 0 else 0
        time.sleep(max(0.0, min(wait, self.deadline - time.monotonic())))

    # --- what each role does ---------------------------------------------------------------------------------

    def applicant(self) -> None:
        if self.rng.random() < 0.7:
            self.request("GET", "/api/v1/proposals/", "API GET /api/v1/proposals/ (applicant list)", api=True)
            return
        n = self.rng.randrange(10**6)
        created = self.request(
            "POST", "/api/v1/proposals/", "API POST /api/v1/proposals/ (create draft)", api=True, expect=201,
            body={"call": self.spec["call"], "type": "new_system", "title": f"Load test system {n}",
                  "acronym": f"LT{n}", "planned_machine_name": f"LT-{n}", "planned_machine_country": "LU"},
        )  # fmt: skip
        if created:
            self.pause()
            acquisition, operations = self.rng.randint(40, 200) * 10**6, self.rng.randint(10, 40) * 10**6
            self.request(
                "PATCH", f"/api/v1/proposals/{created['id']}/", "API PATCH /api/v1/proposals/{id}/ (set budget)",
                api=True,
                body={"budget_lines": [
                    {"category": "acquisition", "total_cost": f"{acquisition}.00",
                     "eu_contribution": f"{acquisition // 2}.00", "national_contribution": f"{acquisition // 2}.00"},
                    {"category": "operations", "total_cost": f"{operations}.00",
                     "eu_contribution": f"{operations // 2}.00", "national_contribution": f"{operations // 2}.00"},
                ]},
            )  # fmt: skip

    def officer(self) -> None:
        draw = self.rng.random()
        if draw < 0.4:
            self.request("GET", "/officer/submissions/", "GET /officer/submissions/")
        elif draw < 0.6:
            page = self.rng.randint(1, self.spec["pages"])
            self.request("GET", f"/officer/submissions/?page={page}", "GET /officer/submissions/?page=N")
        else:
            pk = self.rng.choice(self.spec["proposals"])
            self.request("GET", f"/proposals/{pk}/", "GET /proposals/{id}/ (officer)")

    def evaluator(self) -> None:
        draw = self.rng.random()
        if draw < 0.4:
            self.request("GET", "/dashboard/", "GET /dashboard/ (evaluator)")
        elif draw < 0.8:
            self.request("GET", "/evaluation/", "GET /evaluation/ (my evaluations)")
        elif self.spec["assignments"]:
            assignment = self.rng.choice(self.spec["assignments"])
            score = str(self.rng.randint(4, 10) / 2)
            page = "API POST /api/v1/assignments/{id}/review/ (save draft)"
            body = {"scores": {"excellence": score}, "comments": {"excellence": "Load test draft."}}
            self.request("POST", f"/api/v1/assignments/{assignment}/review/", page, api=True, body=body)

    def finance(self) -> None:
        if self.rng.random() < 0.5:
            self.request("GET", "/finance/", "GET /finance/")
        else:
            self.request("GET", "/grants/", "GET /grants/")

    def operator(self) -> None:
        self.request("GET", "/quota/", "GET /quota/ (operator)")

    def run(self) -> None:
        action = getattr(self, self.spec["role"])
        time.sleep(self.rng.uniform(0, max(2.0, self.think)))  # ramp-up
        try:
            while time.monotonic() < self.deadline:
                action()
                self.pause()
        except Done:
            pass
        except Exception as exc:  # a bug of the load test itself: reported as an error, never hidden
            self.errors.append(f"virtual {self.spec['role']} stopped: {type(exc).__name__}: {exc}")


class Budget:
    """The maximum number of requests of the whole run, shared by the users."""

    def __init__(self, total: int):
        self.left, self.lock = total, threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def server_env() -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "eurohpc.settings", "DJANGO_DEBUG": "false"}
    return env


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]  # nearest rank


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--think", type=float, default=5.0, help="mean think time between requests, seconds")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop after this many requests in all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", default=str(ROOT / "docs" / "load.md"))
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to the PostgreSQL database of the scale dataset (e.g. …/aif_scale).")
        return 2
    rng = random.Random(args.seed)
    users, dataset = prepare(args.users, rng)
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log") as log:
        process = start_gunicorn(port, args.workers, log, env=server_env())
        try:
            budget = Budget(args.max_requests)
            started = time.monotonic()
            deadline = started + args.duration
            threads = [
                VirtualUser(spec, port=port, deadline=deadline, budget=budget, think=args.think, seed=args.seed + n)
                for n, spec in enumerate(users)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
            elapsed = time.monotonic() - started
            hung = sum(1 for t in threads if t.is_alive())
        finally:
            stop(process)
        log.seek(0)
        server_log = [line.rstrip() for line in log if "Traceback" in line or "Error" in line or "CRITICAL" in line]
    return write_report(args, users, dataset, threads, elapsed, hung, server_log)


def write_report(args, users, dataset, threads, elapsed, hung, server_log) -> int:
    by_page: dict[str, list[tuple[float, int]]] = defaultdict(list)
    errors = []
    for thread in threads:
        for page, ms, status in thread.samples:
            by_page[page].append((ms, status))
        errors.extend(thread.errors)
    total = sum(len(v) for v in by_page.values())
    roles = defaultdict(int)
    for spec in users:
        roles[spec["role"]] += 1
    lines = [
        "## Load test",
        "",
        f"Measured {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {platform.machine()}, {os.cpu_count()} cores, "
        "PostgreSQL on the same machine; "
        f"command: `DATABASE_URL=postgres://…/aif_scale .venv/bin/python bench/load.py --users {args.users} "
        f"--duration {args.duration:g} --workers {args.workers} --think {args.think:g}`.",
        "",
        f"gunicorn `eurohpc.wsgi` on 127.0.0.1, {args.workers} sync workers, default settings with DEBUG off, "
        "against the scale dataset ("
        + ", ".join(f"{v:,} {k}" for k, v in dataset.items())
        + f"). {args.users} virtual users ("
        + ", ".join(f"{roles[r]} {ROLE_NAMES[r]}" for r, _ in MIX)
        + "), each "
        f"looping over its role's requests with a random think time (mean {args.think:g} s) for {args.duration:g} s; "
        "the run stops by itself at the deadline (or after "
        f"{args.max_requests:,} requests). Sessions and API tokens were prepared in the database before the "
        "run, so no password hashing is measured. Latency is measured by the client: from sending the request to "
        "reading the whole response, queueing for a free worker included.",
        "",
        f"**{total:,} requests in {elapsed:.1f} s ({total / elapsed:.1f} requests/s), "
        f"{len(errors)} error{'s' if len(errors) != 1 else ''}.**"
        + (f" {hung} users were still waiting for an answer when the run ended." if hung else ""),
        "",
        "| page | requests | errors | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for page in sorted(by_page):
        samples = by_page[page]
        ms = [m for m, _ in samples]
        failed = sum(1 for _, status in samples if status == 0 or status >= 400)
        lines.append(f"| {page} | {len(samples):,} | {failed} | {percentile(ms, 0.5):.0f} | "
                     f"{percentile(ms, 0.95):.0f} | {max(ms):.0f} |")  # fmt: skip
    lines.append("")
    if errors:
        lines.append("Errors (first 20):")
        lines.append("")
        lines.extend(f"- `{e}`" for e in errors[:20])
        lines.append("")
    if server_log:
        lines.append("Server log lines mentioning errors (first 10):")
        lines.append("")
        lines.extend(f"- `{line}`" for line in server_log[:10])
        lines.append("")
    text = "\n".join(lines)
    print(text)
    Path(args.output).parent.mkdir(exist_ok=True)
    Path(args.output).write_text(text)
    return 1 if errors or hung else 0


if __name__ == "__main__":
    sys.exit(main())
