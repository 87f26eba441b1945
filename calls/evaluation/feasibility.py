"""The items of a technical assessment (calls/evaluation/data/feasibility_items.json) and the check of an
expert's answers against them: every item passes or fails with a comment on submission; a draft may be partial."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from eurohpc import limits
from eurohpc.errors import RuleViolation

ITEMS_FILE = Path(__file__).parent / "data" / "feasibility_items.json"

# How an item's verdict is sent by a form or the API.
PASS, FAIL = "pass", "fail"
VERDICTS = {PASS: True, FAIL: False, True: True, False: False}


@dataclass(frozen=True)
class FeasibilityItemSpec:
    code: str
    group: str
    name: str
    guidance: str


@cache
def feasibility_items() -> tuple[FeasibilityItemSpec, ...]:
    """The items in the order the form and the reports show them; the file is refused when malformed."""
    rows = json.loads(ITEMS_FILE.read_text(encoding="utf-8"))
    items = tuple(
        FeasibilityItemSpec(code=r["code"], group=r["group"], name=r["name"], guidance=r["guidance"]) for r in rows
    )
    codes = [i.code for i in items]
    if not items or len(set(codes)) != len(codes) or any(not c or len(c) > 32 for c in codes):
        raise ValueError(f"{ITEMS_FILE}: item codes must be present, unique and at most 32 characters.")
    return items


def item_names() -> dict[str, str]:
    return {i.code: i.name for i in feasibility_items()}


def item_groups() -> list[tuple[str, list[FeasibilityItemSpec]]]:
    """The items by group, in file order (the form's fieldsets)."""
    groups: dict[str, list[FeasibilityItemSpec]] = {}
    for item in feasibility_items():
        groups.setdefault(item.group, []).append(item)
    return list(groups.items())


def parse_feasibility(*, items: dict | None, comments: dict | None, complete: bool) -> tuple[dict, dict]:
    """Check verdicts (`items`: code → "pass"/"fail") and comments against the item list; refuse with every
    problem named per item (`items.<code>`, `comments.<code>`). `complete` (a submission) needs a verdict and a
    non-empty comment on every item; a draft keeps what is given. Returns (code → bool, code → comment)."""
    items = items or {}
    comments = comments or {}
    if not isinstance(items, dict) or not isinstance(comments, dict):
        raise RuleViolation("Items and comments are maps from item code to value.", code="feasibility_invalid")
    specs = feasibility_items()
    known = {i.code for i in specs}
    errors: dict[str, list[str]] = {}
    for code in sorted((set(items) | set(comments)) - known):
        key = "items" if code in items else "comments"
        errors.setdefault(f"{key}.{code}", []).append(
            f"Unknown item {code!r}; the items are {', '.join(i.code for i in specs)}."
        )
    verdicts: dict[str, bool] = {}
    texts: dict[str, str] = {}
    for spec in specs:
        raw = items.get(spec.code)
        if raw is None or raw == "":
            if complete:
                errors.setdefault(f"items.{spec.code}", []).append(f"{spec.name}: choose pass or fail.")
        elif isinstance(raw, str | bool) and raw in VERDICTS:
            verdicts[spec.code] = VERDICTS[raw]
        else:
            errors.setdefault(f"items.{spec.code}", []).append(f"{spec.name}: the verdict is pass or fail.")
        comment = comments.get(spec.code)
        comment = comment.strip() if isinstance(comment, str) else ""
        if len(comment) > limits.REVIEW_COMMENT:
            errors.setdefault(f"comments.{spec.code}", []).append(
                f"{spec.name}: at most {limits.REVIEW_COMMENT} characters."
            )
        elif comment:
            texts[spec.code] = comment
        elif complete:
            errors.setdefault(f"comments.{spec.code}", []).append(f"{spec.name}: a comment is required.")
    if errors:
        count = sum(len(v) for v in errors.values())
        raise RuleViolation(
            f"The technical assessment cannot be accepted: {count} problem(s).",
            code="feasibility_invalid",
            errors=errors,
        )
    return verdicts, texts
