"""A gunicorn of the product on a loopback port, for the benchmarks that measure over HTTP (load.py, http_pages.py):
started, polled until /health/ answers (60 s at most), and stopped, only the process it started."""

import http.client
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_gunicorn(port: int, workers: int, log, *, env: dict, worker_class: str = "sync") -> subprocess.Popen:
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "eurohpc.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", worker_class,
               "--timeout", "120", "--graceful-timeout", "10"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health/", headers={"Host": "127.0.0.1"})
            if connection.getresponse().status == 200:
                connection.close()
                return process
        except OSError:
            time.sleep(0.25)
    stop(process)
    raise RuntimeError("gunicorn did not answer /health/ within 60 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
