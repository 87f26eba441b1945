"""Run every benchmark in bench/ on the scale dataset and write their output to docs/benchmarks.md.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/run_all.py [--no-load]
(`make bench` runs the same). First migrates the database and builds the scale dataset when it is missing
(`manage.py seed_scale`; its time per table goes into the document), then runs each bench script, then the
bounded load test (bench/load.py, which writes docs/load.md), and writes docs/benchmarks.md with the date and
the command. Each script prints its own figures and the ratio to its baseline, measured in the same run.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# budget.py runs two of the others; bench_settings.py is the settings http_pages.py serves the pages with;
# _common.py and _gunicorn.py are what the scripts share
SKIP = {"_common.py", "_gunicorn.py", "bench_urls.py", "bench_settings.py", "run_all.py", "load.py", "budget.py"}


def run(command: list[str], timeout: int) -> tuple[int, str, float]:
    start = time.perf_counter()
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or "") if isinstance(exc.stdout, str) else (exc.stdout or b"").decode()
        return 124, f"{output.strip()}\n(stopped after {timeout} s)", time.perf_counter() - start
    output = result.stdout.strip()
    if result.returncode != 0:
        output = f"{output}\n{result.stderr.strip()[-3000:]}".strip()
    return result.returncode, output, time.perf_counter() - start


def data_of(source: str) -> str:
    """What a benchmark script measures on, read from its source."""
    if "ensure_scale_dataset" in source or "seed_scale" in source:
        return "scale dataset"
    if "create_test_db" in source:
        return "its own rows, in a throw-away test database"
    return "its own rows, added to the benchmark database"


def shown(command: list[str]) -> str:
    return " ".join(Path(part).relative_to(ROOT).as_posix() if part.startswith(str(ROOT)) else part for part in command)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-load", action="store_true", help="skip the load test (bench/load.py)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a dedicated PostgreSQL database (the scale dataset is loaded into it), e.g.\n"
              "  createdb -h 127.0.0.1 -U postgres aif_scale\n"
              "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale make bench")  # fmt: skip
        return 2
    python = sys.executable
    started = datetime.now().astimezone()
    failed = []

    print("== scale dataset (manage.py migrate; manage.py seed_scale)", flush=True)
    code, output, _ = run([python, "manage.py", "migrate", "--noinput"], timeout=600)
    if code != 0:
        print(output)
        return 1
    code, seed_output, seed_seconds = run([python, "manage.py", "seed_scale"], timeout=1800)
    print(seed_output)
    if code != 0:
        failed.append("seed_scale")
    dataset = (
        "## Scale dataset\n\n`DATABASE_URL=… .venv/bin/python manage.py seed_scale`"
        f"{' (failed)' if code else ''} — {seed_seconds:.0f} s with the process start\n\n```\n{seed_output}\n```\n"
    )

    # The load test first, so that it meets the scale dataset as seed_scale left it (some benchmarks add their own
    # rows to the database).
    sections, summary = [], []
    load_section = ""
    load_file = ROOT / "docs" / "load.md"
    if not args.no_load:
        print("== load.py", flush=True)
        code, output, seconds = run([python, str(ROOT / "bench" / "load.py")], timeout=900)
        print(output, flush=True)
        summary.append(f"| load | scale dataset | {'failed' if code else 'ok'} | {seconds:.0f} |")
        if code != 0:
            failed.append("load.py")
            if not load_file.exists() or load_file.stat().st_mtime < started.timestamp():
                load_section = f"\n## Load test (failed)\n\n```\n{output[-4000:]}\n```\n"
    if load_file.exists() and not load_section:
        load_section = "\n" + load_file.read_text()

    scripts = sorted(p for p in (ROOT / "bench").glob("*.py") if p.name not in SKIP)
    for script in scripts:
        command = [python, str(script)]
        print(f"== {script.name}", flush=True)
        code, output, seconds = run(command, timeout=1800)
        print(output, flush=True)
        if code != 0:
            failed.append(script.name)
        data = data_of(script.read_text())
        summary.append(f"| {script.stem} | {data} | {'failed' if code else 'ok'} | {seconds:.0f} |")
        status = " (failed)" if code else ""
        sections.append(f"### {script.stem}\n\n`DATABASE_URL=… {shown(command)}`{status}\n\n```\n{output}\n```\n")

    doc = (
        "# Benchmarks\n\n"
        f"Measured {started:%Y-%m-%d %H:%M %Z} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL; command: "
        "`DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale make bench` "
        "(= `.venv/bin/python bench/run_all.py`). Other processes running on the machine at the same time "
        "make the absolute times noisy.\n\n"
        "Every figure is a median of repeated requests in one run; each ratio compares a measure with the baseline "
        "measured in the same run, so the ratios, not the milliseconds, carry over between machines.\n\n"
        "| benchmark | data | status | seconds |\n|---|---|---|---:|\n" + "\n".join(summary) + "\n\n"
        + dataset
        + "\n## Benchmarks\n\n"
        + "\n".join(sections)
        + load_section
    )  # fmt: skip
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "benchmarks.md").write_text(doc)
    print(
        f"\nWrote docs/benchmarks.md ({len(scripts)} benchmarks{', failed: ' + ', '.join(failed) if failed else ''})."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
