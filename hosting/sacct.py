"""Reading Slurm accounting exports: `sacct --parsable2` output with a header row.

Only parsing lives here (no database): each data line becomes a `Job`, or a skip reason, or the whole file is
refused with `UsageFileError` naming the line (the header is line 1) and the reason.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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
# Counts are stored as PostgreSQL integers; a job's charge has 12 digits before its 4 decimals.
MAX_COUNT = 2**31 - 1
MAX_CHARGE_HOURS = 10**12
# Orphan job steps listed by line in an import's summary (the count is always complete).
MAX_LISTED_ORPHANS = 100

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
    # Start and End as written in the file ("" for no time): writers copy the common form as it is.
    start_text: str = field(default="", compare=False, repr=False)
    end_text: str = field(default="", compare=False, repr=False)


def _count(value: str, column: str, line: int) -> int:
    if not (value.isascii() and value.isdigit()):
        raise UsageFileError(line=line, error=f"{column} is not a whole number: {value!r}.")
    number = int(value)
    if number > MAX_COUNT:
        raise UsageFileError(line=line, error=f"{column} is larger than {MAX_COUNT:,}: {value!r}.")
    return number


def _time(value: str, column: str, line: int) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UsageFileError(line=line, error=f"{column} is not a date and time: {value!r}.") from None


def gpus_in_tres(tres: str, line: int = 0) -> int:
    """The GPU count of an AllocTRES value (`billing=64,cpu=64,gres/gpu=8,mem=480G,node=1`).

    An untyped `gres/gpu=N` wins; otherwise typed counts (`gres/gpu:a100=4`) are added up.
    """
    at = tres.find("gres/gpu")
    if at < 0:
        return 0
    if tres.startswith("gres/gpu=", at) and (at == 0 or tres[at - 1] == ",") and tres.find("gres/gpu", at + 8) < 0:
        # The common case, one untyped count: read it without splitting the whole value.
        end = tres.find(",", at)
        value = tres[at + 9 :] if end < 0 else tres[at + 9 : end]
        if value.isdigit() and value.isascii() and len(value) < 10:
            return int(value)
    untyped = None
    typed = 0
    for item in tres.split(","):
        key, sep, value = item.partition("=")
        # gres/gpu and gres/gpu:<type> count GPUs; gres/gpumem, gres/gpuutil … are other resources.
        if key != "gres/gpu" and not key.startswith("gres/gpu:"):
            continue
        if not sep or not (value.isascii() and value.isdigit()):
            raise UsageFileError(line=line, error=f"AllocTRES has a GPU count that is not a whole number: {item!r}.")
        if int(value) > MAX_COUNT:
            raise UsageFileError(line=line, error=f"AllocTRES has a GPU count larger than {MAX_COUNT:,}: {item!r}.")
        if key == "gres/gpu":
            untyped = int(value)
        else:
            typed += int(value)
    if typed > MAX_COUNT:
        raise UsageFileError(line=line, error=f"AllocTRES has GPU counts adding up to more than {MAX_COUNT:,}.")
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
    After the iteration, `data_lines` is the number of lines after the header, and `orphan_steps` the job
    steps (skipped like every step) whose JobIDRaw names no job of the file: a cut or mixed export.
    """

    def __init__(self, raw_lines: Iterable[bytes], *, cluster: str = "", progress=None):
        self.raw_lines = raw_lines
        self.cluster = cluster
        self.progress = progress
        self.data_lines = 0
        # Job steps whose JobIDRaw belongs to no job line of the file: (line, JobIDRaw), the first ones.
        self.orphan_steps: list[tuple[int, str]] = []
        self.orphan_step_count = 0

    def __iter__(self) -> Iterator[Job | str]:
        yield from _read(self.raw_lines, cluster=self.cluster, progress=self.progress, reader=self)


def read_jobs(raw_lines: Iterable[bytes], *, cluster: str = "", progress=None) -> Iterator[Job | str]:
    return iter(SacctReader(raw_lines, cluster=cluster, progress=progress))


def _read(raw_lines: Iterable[bytes], *, cluster: str, progress, reader: SacctReader) -> Iterator[Job | str]:
    """The checks in the order the messages promise; cheap tests first, the exact check when one fails."""
    expected_cluster = cluster.lower()
    accepted_clusters: set[str] = set()  # Cluster values already compared (a file has one or two)
    accepted_states: set[str] = set()  # State words already matched against the pattern
    positions: dict[str, int] | None = None
    width = 0
    bytes_read = 0
    line = 0
    max_job, max_raw = MAX_LENGTHS["JobID"], MAX_LENGTHS["JobIDRaw"]
    max_part, max_account, max_user, max_state = (MAX_LENGTHS[c] for c in ("Partition", "Account", "User", "State"))
    fromisoformat = datetime.fromisoformat
    job_raws: set[str] = set()  # JobIDRaw of every job line, ended or not
    # Steps follow their job in sacct's output; only a step whose job is not the line's last job is kept
    # (line, its job's JobIDRaw) to be checked at the end, so memory does not grow with the steps.
    steps: list[tuple[int, str]] = []
    last_job_raw = None
    for raw in raw_lines:
        line += 1
        bytes_read += len(raw)
        if progress is not None and line % 10000 == 0:
            progress(bytes_read, line)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            reader.data_lines = line - 1
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
        fields = text.split("|")
        if len(fields) != width:
            if not text.strip():
                continue
            raise UsageFileError(line=line, error=f"{len(fields)} fields where the header has {width}.")
        job_id = fields[i_job]
        if not job_id:
            raise UsageFileError(line=line, error="JobID is empty.")
        if "." in job_id:
            parent = fields[i_raw].partition(".")[0]
            if parent != last_job_raw:
                steps.append((line, parent))
            yield SKIP_STEP
            continue
        last_job_raw = fields[i_raw]
        job_raws.add(last_job_raw)
        state_text = fields[i_state]
        state = state_text.partition(" ")[0]  # "CANCELLED by 1001"
        if state not in accepted_states:
            if not _STATE.fullmatch(state):
                raise UsageFileError(line=line, error=f"State is not a Slurm job state: {state_text!r}.")
            accepted_states.add(state)
        if state == "PENDING":
            yield SKIP_PENDING
            continue
        end_text = fields[i_end]
        if end_text in _NO_TIME:
            yield SKIP_NOT_ENDED
            continue
        if not (job_id.isdigit() and job_id.isascii()) and not _JOB_ID.fullmatch(job_id):
            raise UsageFileError(line=line, error=f"JobID is not a Slurm job id: {job_id!r}.")
        job_id_raw = fields[i_raw]
        if not (job_id_raw.isdigit() and job_id_raw.isascii()):
            raise UsageFileError(line=line, error=f"JobIDRaw is not a job number: {job_id_raw!r}.")
        partition = fields[i_part]
        account = fields[i_account]
        user = fields[i_user]
        if (
            len(job_id) > max_job
            or len(job_id_raw) > max_raw
            or len(partition) > max_part
            or len(account) > max_account
            or len(user) > max_user
            or len(state_text) > max_state
        ):
            for column, value in (
                ("JobID", job_id),
                ("JobIDRaw", job_id_raw),
                ("Partition", partition),
                ("Account", account),
                ("User", user),
                ("State", state_text),
            ):
                if len(value) > MAX_LENGTHS[column]:
                    raise UsageFileError(line=line, error=f"{column} is longer than {MAX_LENGTHS[column]} characters.")
        job_cluster = fields[i_cluster]
        if expected_cluster and job_cluster not in accepted_clusters:
            if job_cluster.lower() != expected_cluster:
                raise UsageFileError(
                    line=line, error=f"Cluster {job_cluster!r} is not this machine's Slurm cluster {cluster!r}."
                )
            accepted_clusters.add(job_cluster)
        if not partition:
            raise UsageFileError(line=line, error="Partition is empty.")
        try:
            end = fromisoformat(end_text)
        except ValueError:
            end = _time(end_text, "End", line)
        start_text = fields[i_start]
        if start_text in _NO_TIME:
            start = None
        else:
            try:
                start = fromisoformat(start_text)
            except ValueError:
                start = _time(start_text, "Start", line)
        elapsed_text, nodes_text, cpus_text = fields[i_elapsed], fields[i_nodes], fields[i_cpus]
        if (
            elapsed_text.isdigit()
            and elapsed_text.isascii()
            and nodes_text.isdigit()
            and nodes_text.isascii()
            and cpus_text.isdigit()
            and cpus_text.isascii()
        ):
            elapsed, nodes, cpus = int(elapsed_text), int(nodes_text), int(cpus_text)
        else:
            elapsed = _count(elapsed_text, "ElapsedRaw", line)
            nodes = _count(nodes_text, "NNodes", line)
            cpus = _count(cpus_text, "NCPUS", line)
        if elapsed > MAX_COUNT or nodes > MAX_COUNT or cpus > MAX_COUNT:
            for column, text in (("ElapsedRaw", elapsed_text), ("NNodes", nodes_text), ("NCPUS", cpus_text)):
                _count(text, column, line)
        gpus = gpus_in_tres(fields[i_tres], line)
        if elapsed * max(nodes, cpus, gpus) >= MAX_CHARGE_HOURS * 3600:
            raise UsageFileError(
                line=line,
                error=f"the job's use (ElapsedRaw × its NNodes, NCPUS or GPUs) is beyond {MAX_CHARGE_HOURS:,} hours: "
                "not a real job.",
            )
        if elapsed == 0:
            yield SKIP_NOT_RUN
            continue
        yield Job(
            line,
            job_id,
            job_id_raw,
            job_cluster,
            partition,
            account,
            user,
            start,
            end,
            elapsed,
            state,
            nodes,
            cpus,
            gpus,
            start_text,
            end_text,
        )
    reader.data_lines = max(line - 1, 0)
    if positions is None:
        raise UsageFileError(line=1, error="the file is empty: expected the sacct --parsable2 header row.")
    orphans = [(at, raw) for at, raw in steps if raw not in job_raws]
    reader.orphan_step_count = len(orphans)
    reader.orphan_steps = orphans[:MAX_LISTED_ORPHANS]
    if progress is not None:
        progress(bytes_read, line)
