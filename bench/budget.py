"""The budget benchmark: envelope positions at scale against a trivial page, then the award letter against bare
WeasyPrint on the same HTML (goal <= 1.2). Runs bench/envelope_position.py and bench/award_letter.py one after
the other with this interpreter and prints their output; exits 1 when either fails.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/budget.py
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in ("envelope_position.py", "award_letter.py"):
        print(f"== {script}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / script)], check=False).returncode != 0  # noqa: S603
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
