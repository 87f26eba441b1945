"""Reading Slurm accounting exports: `sacct --parsable2` output with a header row.

Only parsing lives here (no database): each data line becomes a `Job`, or a skip reason, or the whole file is
refused with `UsageFileError` naming the line (the header is line 1) and the reason.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from eurohpc.errors import RuleViolation

COLUMNS = (
    "JobID",
    "JobIDRaw",
    "Cluster",
    "Partition",
    "Account",
    "User",
    "Start",
    "End",
    "ElapsedRaw",
    "State",
    "NNodes",
    "NCPUS",
    "AllocTRES",
)

# Longest values the usage table stores; longer ones are refused rather than cut.
MAX_LENGTHS = {"JobID": 64, "JobIDRaw": 32, "Partition": 64, "Account": 64, "User": 64, "State": 32}

SKIP_STEP = "job step"
SKIP_PENDING = "pending"
SKIP_NOT_ENDED = "not ended (End=Unknown)"
SKIP_NOT_RUN = "never ran (ElapsedRaw=0)"
SKIP_REASONS = (SKIP_STEP, SKIP_PENDING, SKIP_NOT_ENDED, SKIP_NOT_RUN)

_JOB_ID = re.compile(r"[0-9]+(?:_[0-9]+|\+[0-9]+)?")
_STATE = re.compile(r"[A-Z][A-Z_]*")
_NO_TIME = frozenset({"Unknown", "None", ""})


class UsageFileError(RuleViolation):
    """A usage file that cannot be read: the whole file is refused, nothing is written."""

    default_code = "malformed_usage_file"

    def __init__(self, *, line: int, error: str):
        super().__init__(f"Line {line}: {error}")
        self.line = line
        self.error = error


@dataclass(slots=True)
class Job:
    line: int
    job_id: str
    job_id_raw: str
    cluster: str
    partition: str
    account: str
    user: str
    start: datetime | None
    end: datetime
    elapsed: int
    state: str
    nodes: int
    cpus: int
    gpus: int


def _count(value: str, column: str, line: int) -> int:
    if not (value.isascii() and value.isdigit()):
        raise UsageFileError(line=line, error=f"{column} is not a whole number: {value!r}.")
    return int(value)


def _time(value: str, column: str, line: int) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UsageFileError(line=line, error=f"{column} is not a date and time: {value!r}.") from None


def gpus_in_tres(tres: str, line: int = 0) -> int:
    """The GPU count of an AllocTRES value (`billing=64,cpu=64,gres/gpu=8,mem=480G,node=1`).

    An untyped `gres/gpu=N` wins; otherwise typed counts (`gres/gpu:a100=4`) are added up.
    """
    if "gres/gpu" not in tres:
        return 0
    untyped = None
    typed = 0
    for item in tres.split(","):
        key, sep, value = item.partition("=")
        if not key.startswith("gres/gpu"):
            continue
        if not sep or not (value.isascii() and value.isdigit()):
            raise UsageFileError(line=line, error=f"AllocTRES has a GPU count that is not a whole number: {item!r}.")
        if key == "gres/gpu":
            untyped = int(value)
        elif key.startswith("gres/gpu:"):
            typed += int(value)
    return untyped if untyped is not None else typed


def header_columns(header: str) -> dict[str, int]:
    """Positions of the needed columns in the header (line 1); other columns are ignored."""
    names = header.rstrip("\r\n").split("|")
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        name = name.strip()
        if name in COLUMNS:
            if name in positions:
                raise UsageFileError(line=1, error=f"the header names the column {name} twice.")
            positions[name] = index
    missing = [name for name in COLUMNS if name not in positions]
    if missing:
        raise UsageFileError(
            line=1,
            error=f"the header lacks the column(s) {', '.join(missing)}; expected sacct --parsable2 output "
            f"with the header row and the columns {'|'.join(COLUMNS)}.",
        )
    return positions


class SacctReader:
    """Iterate over a sacct file: a `Job` for each finished job, or the reason a line is skipped.

    `raw_lines` are the file's lines as bytes (UTF-8). `cluster`, when given, is the only Cluster value
    accepted (case-insensitive). `progress(bytes_read, lines_read)` is called every 10,000 lines and at the end.
    After the iteration, `data_lines` is the number of lines after the header.
    """

    def __init__(self, raw_lines: Iterable[bytes], *, cluster: str = "", progress=None):
        self.raw_lines = raw_lines
        self.cluster = cluster
        self.progress = progress
        self.data_lines = 0

    def __iter__(self) -> Iterator[Job | str]:
        yield from _read(self.raw_lines, cluster=self.cluster, progress=self.progress, reader=self)


def read_jobs(raw_lines: Iterable[bytes], *, cluster: str = "", progress=None) -> Iterator[Job | str]:
    return iter(SacctReader(raw_lines, cluster=cluster, progress=progress))


def _read(raw_lines: Iterable[bytes], *, cluster: str, progress, reader: SacctReader) -> Iterator[Job | str]:
    expected_cluster = cluster.lower()
    positions: dict[str, int] | None = None
    width = 0
    bytes_read = 0
    line = 0
    for raw in raw_lines:
        line += 1
        reader.data_lines = line - 1
        bytes_read += len(raw)
        if progress is not None and line % 10000 == 0:
            progress(bytes_read, line)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageFileError(line=line, error="the line is not UTF-8 text.") from None
        text = text.rstrip("\r\n")
        if positions is None:
            if text.startswith("\ufeff"):
                text = text[1:]
            positions = header_columns(text)
            width = len(text.split("|"))
            (
                i_job,
                i_raw,
                i_cluster,
                i_part,
                i_account,
                i_user,
                i_start,
                i_end,
                i_elapsed,
                i_state,
                i_nodes,
                i_cpus,
                i_tres,
            ) = (positions[name] for name in COLUMNS)
            continue
        if not text.strip():
            continue
        fields = text.split("|")
        if len(fields) != width:
            raise UsageFileError(line=line, error=f"{len(fields)} fields where the header has {width}.")
        job_id = fields[i_job]
        if not job_id:
            raise UsageFileError(line=line, error="JobID is empty.")
        if "." in job_id:
            yield SKIP_STEP
            continue
        state_text = fields[i_state]
        state = state_text.split(" ", 1)[0]  # "CANCELLED by 1001"
        if not _STATE.fullmatch(state):
            raise UsageFileError(line=line, error=f"State is not a Slurm job state: {state_text!r}.")
        if state == "PENDING":
            yield SKIP_PENDING
            continue
        end_text = fields[i_end]
        if end_text in _NO_TIME:
            yield SKIP_NOT_ENDED
            continue
        if not _JOB_ID.fullmatch(job_id):
            raise UsageFileError(line=line, error=f"JobID is not a Slurm job id: {job_id!r}.")
        job_id_raw = fields[i_raw]
        if not (job_id_raw.isascii() and job_id_raw.isdigit()):
            raise UsageFileError(line=line, error=f"JobIDRaw is not a job number: {job_id_raw!r}.")
        for column, index in (
            ("JobID", i_job),
            ("JobIDRaw", i_raw),
            ("Partition", i_part),
            ("Account", i_account),
            ("User", i_user),
            ("State", i_state),
        ):
            if len(fields[index]) > MAX_LENGTHS[column]:
                raise UsageFileError(line=line, error=f"{column} is longer than {MAX_LENGTHS[column]} characters.")
        job_cluster = fields[i_cluster]
        if expected_cluster and job_cluster.lower() != expected_cluster:
            raise UsageFileError(
                line=line, error=f"Cluster {job_cluster!r} is not this machine's Slurm cluster {cluster!r}."
            )
        partition = fields[i_part]
        if not partition:
            raise UsageFileError(line=line, error="Partition is empty.")
        end = _time(end_text, "End", line)
        start_text = fields[i_start]
        start = None if start_text in _NO_TIME else _time(start_text, "Start", line)
        elapsed = _count(fields[i_elapsed], "ElapsedRaw", line)
        nodes = _count(fields[i_nodes], "NNodes", line)
        cpus = _count(fields[i_cpus], "NCPUS", line)
        gpus = gpus_in_tres(fields[i_tres], line)
        if elapsed == 0:
            yield SKIP_NOT_RUN
            continue
        yield Job(
            line,
            job_id,
            job_id_raw,
            job_cluster,
            partition,
            fields[i_account],
            fields[i_user],
            start,
            end,
            elapsed,
            state,
            nodes,
            cpus,
            gpus,
        )
    if positions is None:
        raise UsageFileError(line=1, error="the file is empty: expected the sacct --parsable2 header row.")
    if progress is not None:
        progress(bytes_read, line)
