"""Run every benchmark in bench/ against DATABASE_URL and write their output to docs/benchmarks.md.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_bench .venv/bin/python bench/run_all.py
Each script prints its own figures and the ratio to its baseline, measured in the same run.
"""

import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"_common.py", "bench_urls.py", "run_all.py", "load.py"}


def main() -> int:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a dedicated PostgreSQL database (the benchmarks load bulk data into it).")
        return 2
    scripts = sorted(p for p in (ROOT / "bench").glob("*.py") if p.name not in SKIP)
    sections, failed = [], []
    for script in scripts:
        command = f"{sys.executable} bench/{script.name}"
        print(f"== {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=1800)  # noqa: S603
        output = result.stdout.strip() or result.stderr.strip()[-2000:]
        print(output)
        if result.returncode != 0:
            failed.append(script.name)
        sections.append(
            f"### {script.stem}\n\n`DATABASE_URL=… {command.replace(str(ROOT) + '/', '')}`"
            f"{' (failed)' if result.returncode else ''}\n\n```\n{output}\n```\n"
        )
    load_section = ""
    load_file = ROOT / "docs" / "load.md"
    if load_file.exists():
        load_section = "\n" + load_file.read_text()
    doc = (
        "# Benchmarks\n\n"
        f"Measured {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL; command: "
        "`DATABASE_URL=postgres://…/aif_bench .venv/bin/python bench/run_all.py`.\n\n"
        "Every figure is a median of repeated requests in one run; each ratio compares a measure with the baseline "
        "measured in the same run, so the ratios, not the milliseconds, carry over between machines.\n\n"
        + "\n".join(sections)
        + load_section
    )
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "benchmarks.md").write_text(doc)
    print(
        f"\nWrote docs/benchmarks.md ({len(scripts)} benchmarks{', failed: ' + ', '.join(failed) if failed else ''})."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
