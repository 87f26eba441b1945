"""Reading sacct --parsable2 output: columns from the header, skips, states, GPUs, and refusals with line numbers."""

from datetime import datetime

import pytest

from hosting.sacct import (
    SKIP_NOT_ENDED,
    SKIP_NOT_RUN,
    SKIP_PENDING,
    SKIP_STEP,
    Job,
    SacctReader,
    UsageFileError,
    gpus_in_tres,
    read_jobs,
)
from tests.hosting.factories import SACCT_HEADER, sacct_file, sacct_line


def jobs(data: bytes, **kwargs) -> list:
    return list(read_jobs(data.splitlines(keepends=True), **kwargs))


def test_read_jobs_takes_column_order_from_header_and_ignores_other_columns():
    header = "State|Account|JobIDRaw|ReqMem|JobID|End|Partition|Cluster|User|Start|NNodes|ElapsedRaw|NCPUS|AllocTRES"
    line = (
        "COMPLETED|project_1|1001|480G|1001|2026-09-01T12:00:00|standard-g|lumi|aino|2026-09-01T10:00:00|2|7200|"
        "112|gres/gpu=8"
    )
    [job] = jobs(sacct_file(line, header=header))
    assert job == Job(
        line=2,
        job_id="1001",
        job_id_raw="1001",
        cluster="lumi",
        partition="standard-g",
        account="project_1",
        user="aino",
        start=datetime(2026, 9, 1, 10),
        end=datetime(2026, 9, 1, 12),
        elapsed=7200,
        state="COMPLETED",
        nodes=2,
        cpus=112,
        gpus=8,
    )


def test_read_jobs_refuses_header_without_needed_columns():
    with pytest.raises(UsageFileError) as refused:
        jobs(sacct_file(header="JobID|Account|End"))
    assert refused.value.line == 1
    assert refused.value.message == (
        "Line 1: the header lacks the column(s) JobIDRaw, Cluster, Partition, User, Start, ElapsedRaw, State, NNodes, "
        "NCPUS, AllocTRES; expected sacct --parsable2 output with the header row and the columns "
        "JobID|JobIDRaw|Cluster|Partition|Account|User|Start|End|ElapsedRaw|State|NNodes|NCPUS|AllocTRES."
    )


def test_read_jobs_refuses_empty_file():
    with pytest.raises(UsageFileError, match=r"^Line 1: the file is empty"):
        jobs(b"")


def test_read_jobs_skips_steps_pending_unfinished_and_never_run():
    data = sacct_file(
        sacct_line("1001.batch", raw="1001.batch", partition=""),
        sacct_line("1001.extern", raw="1001.extern", partition=""),
        sacct_line("1001.0", raw="1001.0", partition=""),
        sacct_line("1002_[4-10%2]", raw="1002", state="PENDING", start="Unknown", end="Unknown", elapsed=0),
        sacct_line("1003", state="RUNNING", end="Unknown"),
        sacct_line("1004", state="CANCELLED by 1001", start="None", end="2026-09-01T09:00:00", elapsed=0),
    )
    assert jobs(data) == [SKIP_STEP, SKIP_STEP, SKIP_STEP, SKIP_PENDING, SKIP_NOT_ENDED, SKIP_NOT_RUN]


def test_read_jobs_keeps_array_tasks_with_their_raw_ids():
    data = sacct_file(sacct_line("1002_3", raw="1005"), sacct_line("1002_4", raw="1006"))
    assert [(j.job_id, j.job_id_raw) for j in jobs(data)] == [("1002_3", "1005"), ("1002_4", "1006")]


def test_read_jobs_reads_cancelled_by_user_as_cancelled():
    [job] = jobs(sacct_file(sacct_line("1007", state="CANCELLED by 1001")))
    assert job.state == "CANCELLED"


@pytest.mark.parametrize(
    ("tres", "gpus"),
    [
        ("billing=56,cpu=56,gres/gpu=8,mem=480G,node=1", 8),
        ("billing=56,cpu=56,gres/gpu=4,gres/gpu:a100=4,node=1", 4),
        ("cpu=56,gres/gpu:a100=2,gres/gpu:h100=1,node=1", 3),
        ("billing=128,cpu=128,mem=224G,node=1", 0),
        ("", 0),
        # GPU memory and utilisation are other resources, not GPUs
        ("cpu=56,gres/gpu=2,gres/gpumem=80G,gres/gpuutil=90,node=1", 2),
        ("cpu=56,gres/gpumem=80000,node=1", 0),
    ],
)
def test_gpus_in_tres_counts_gres_gpu(tres, gpus):
    assert gpus_in_tres(tres) == gpus


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (sacct_line("1001", elapsed="12m"), "Line 2: ElapsedRaw is not a whole number: '12m'."),
        (sacct_line("1001", nodes=-1), "Line 2: NNodes is not a whole number: '-1'."),
        (sacct_line("1001", end="yesterday"), "Line 2: End is not a date and time: 'yesterday'."),
        (
            sacct_line("1001", start="2026-13-01T00:00:00"),
            "Line 2: Start is not a date and time: '2026-13-01T00:00:00'.",
        ),
        (sacct_line("1001", raw="abc"), "Line 2: JobIDRaw is not a job number: 'abc'."),
        (sacct_line("10x1"), "Line 2: JobID is not a Slurm job id: '10x1'."),
        (sacct_line("1001", state="done"), "Line 2: State is not a Slurm job state: 'done'."),
        (
            sacct_line("1001", tres="gres/gpu=eight"),
            "Line 2: AllocTRES has a GPU count that is not a whole number: 'gres/gpu=eight'.",
        ),
        (sacct_line("1001", partition=""), "Line 2: Partition is empty."),
        (sacct_line("1001", elapsed="NaN"), "Line 2: ElapsedRaw is not a whole number: 'NaN'."),
        (sacct_line("1001", elapsed="inf"), "Line 2: ElapsedRaw is not a whole number: 'inf'."),
        (sacct_line("1001", cpus="\uff15\uff16"), "Line 2: NCPUS is not a whole number: '\uff15\uff16'."),
        (sacct_line("1001", nodes="1e3"), "Line 2: NNodes is not a whole number: '1e3'."),
        (sacct_line("1001", nodes=2**31), "Line 2: NNodes is larger than 2,147,483,647: '2147483648'."),
        (
            sacct_line("1001", elapsed="9" * 40),
            f"Line 2: ElapsedRaw is larger than 2,147,483,647: '{'9' * 40}'.",
        ),
        (
            sacct_line("1001", tres="gres/gpu=NaN"),
            "Line 2: AllocTRES has a GPU count that is not a whole number: 'gres/gpu=NaN'.",
        ),
        (
            sacct_line("1001", tres="gres/gpu=99999999999"),
            "Line 2: AllocTRES has a GPU count larger than 2,147,483,647: 'gres/gpu=99999999999'.",
        ),
        (
            sacct_line("1001", tres="gres/gpu:a100=2147483647,gres/gpu:h100=1"),
            "Line 2: AllocTRES has GPU counts adding up to more than 2,147,483,647.",
        ),
        (
            sacct_line("1001", elapsed=2**31 - 1, cpus=2**31 - 1),
            "Line 2: the job's use (ElapsedRaw × its NNodes, NCPUS or GPUs) is beyond 1,000,000,000,000 hours: "
            "not a real job.",
        ),
        (sacct_line("1001", account="a" * 65), "Line 2: Account is longer than 64 characters."),
        ("1001|1001|lumi", "Line 2: 3 fields where the header has 13."),
    ],
)
def test_read_jobs_refuses_malformed_line_with_reason(line, message):
    with pytest.raises(UsageFileError) as refused:
        jobs(sacct_file(line))
    assert refused.value.message == message
    assert refused.value.line == 2


def test_read_jobs_refuses_other_cluster():
    with pytest.raises(UsageFileError) as refused:
        jobs(sacct_file(sacct_line("1001"), sacct_line("1002", cluster="leonardo")), cluster="lumi")
    assert refused.value.message == "Line 3: Cluster 'leonardo' is not this machine's Slurm cluster 'lumi'."


def test_read_jobs_refuses_text_that_is_not_utf8():
    data = sacct_file(sacct_line("1001")) + b"1002|1002|lumi|standard-g|\xff\xfe|x\n"
    with pytest.raises(UsageFileError, match=r"^Line 3: the line is not UTF-8 text\.$"):
        jobs(data)


def test_read_jobs_ignores_blank_lines_and_windows_line_ends():
    data = (SACCT_HEADER + "\r\n" + sacct_line("1001") + "\r\n\r\n").encode()
    assert [j.job_id for j in jobs(data)] == ["1001"]


def test_read_jobs_reports_steps_whose_job_is_not_in_the_file():
    data = sacct_file(
        sacct_line("1001"),
        sacct_line("1001.batch"),
        sacct_line("0999.0", raw="999.0"),  # its job was cut from the export
        sacct_line("1002"),
        sacct_line("0999.1", raw="999.1"),
        sacct_line("1002.0"),
    )
    reader = SacctReader(data.splitlines(keepends=True))
    items = list(reader)
    assert [i.job_id if isinstance(i, Job) else i for i in items] == [
        "1001",
        SKIP_STEP,
        SKIP_STEP,
        "1002",
        SKIP_STEP,
        SKIP_STEP,
    ]
    assert reader.orphan_step_count == 2
    assert reader.orphan_steps == [(4, "999"), (6, "999")]


def test_read_jobs_step_before_its_job_is_not_an_orphan():
    data = sacct_file(sacct_line("1001.0"), sacct_line("1001"))
    reader = SacctReader(data.splitlines(keepends=True))
    list(reader)
    assert reader.orphan_step_count == 0
    assert reader.orphan_steps == []
