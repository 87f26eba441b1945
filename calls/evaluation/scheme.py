"""A call's evaluation scheme read as typed values, and the arithmetic of scores, thresholds and weights.

The scheme is data of each call (`Call.evaluation_scheme`): criteria with code, name, maximum, step,
threshold and weight; an overall threshold on the weighted total; the minimum number of evaluators; the
tie-break order. Every number is a Decimal, read from its string form.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from eurohpc.errors import RuleViolation

# Tie-break keys that are not criteria: an earlier submission ranks first.
SUBMITTED_AT = "submitted_at"
# Individual scores further apart than this are flagged on the consensus page.
SPREAD_FLAG = Decimal("2")


def _decimal(value, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"the evaluation scheme's {what} is not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"the evaluation scheme's {what} is not a number: {value!r}")
    return number


def number(value: Decimal) -> str:
    """A score as people write it: 4.5, 3, 12.5."""
    return format(value.normalize(), "f")


def tidy(value: Decimal | None) -> Decimal | None:
    """The same number without trailing zeros, for display (4.50 → 4.5, 10.00 → 10)."""
    return None if value is None else Decimal(number(value))


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    max: Decimal
    step: Decimal
    threshold: Decimal
    weight: Decimal

    def as_data(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "max": number(self.max),
            "step": number(self.step),
            "threshold": number(self.threshold),
            "weight": number(self.weight),
        }


@dataclass(frozen=True)
class Scheme:
    criteria: tuple[Criterion, ...]
    overall_threshold: Decimal
    min_evaluators: int
    tie_break: tuple[str, ...]

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.criteria]

    @property
    def max_total(self) -> Decimal:
        return sum((c.max * c.weight for c in self.criteria), Decimal("0"))

    def criterion(self, code: str) -> Criterion:
        return next(c for c in self.criteria if c.code == code)

    def as_data(self) -> dict:
        return {
            "criteria": [c.as_data() for c in self.criteria],
            "overall_threshold": number(self.overall_threshold),
            "min_evaluators": self.min_evaluators,
            "tie_break": list(self.tie_break),
        }

    # --- arithmetic ---------------------------------------------------------------------------------

    def total(self, scores: dict[str, Decimal]) -> Decimal:
        """The weighted sum of the scores of every criterion."""
        return sum((scores[c.code] * c.weight for c in self.criteria), Decimal("0")).quantize(Decimal("0.01"))

    def failed_thresholds(self, scores: dict[str, Decimal]) -> list[str]:
        """What keeps the scores below the thresholds, one line each; empty when they pass."""
        failed = [
            f"{c.name}: {number(scores[c.code])} is below the threshold of {number(c.threshold)}"
            for c in self.criteria
            if scores[c.code] < c.threshold
        ]
        total = self.total(scores)
        if total < self.overall_threshold:
            failed.append(
                f"Weighted total: {number(total)} is below the overall threshold of {number(self.overall_threshold)}"
            )
        return failed

    def passes(self, scores: dict[str, Decimal]) -> bool:
        return not self.failed_thresholds(scores)

    # --- input --------------------------------------------------------------------------------------

    def parse(
        self, *, scores: dict | None, comments: dict | None, complete: bool
    ) -> tuple[dict[str, Decimal], dict[str, str]]:
        """Check scores and comments against the scheme; refuse with every problem named per criterion.

        `complete`: every criterion needs a score on its step within [0, max] and a non-empty comment (a
        submission, a consensus). Otherwise (a draft) missing criteria are fine but given scores must be valid.
        """
        scores = scores or {}
        comments = comments or {}
        errors: dict[str, list[str]] = {}
        known = set(self.codes)
        for code in sorted((set(scores) | set(comments)) - known):
            key = "scores" if code in scores else "comments"
            errors.setdefault(f"{key}.{code}", []).append(
                f"Unknown criterion {code!r}; this call's criteria are {', '.join(self.codes)}."
            )
        parsed: dict[str, Decimal] = {}
        texts: dict[str, str] = {}
        for c in self.criteria:
            raw = scores.get(c.code)
            if raw is None or raw == "":
                if complete:
                    errors.setdefault(f"scores.{c.code}", []).append(f"{c.name}: give a score.")
            else:
                value = self._score(c, raw, errors)
                if value is not None:
                    parsed[c.code] = value
            comment = comments.get(c.code)
            comment = comment.strip() if isinstance(comment, str) else ""
            if comment:
                texts[c.code] = comment
            elif complete:
                errors.setdefault(f"comments.{c.code}", []).append(f"{c.name}: a comment is required.")
        if errors:
            count = sum(len(v) for v in errors.values())
            raise RuleViolation(
                f"The scores cannot be accepted: {count} problem(s).", code="scores_invalid", errors=errors
            )
        return parsed, texts

    @staticmethod
    def _score(c: Criterion, raw, errors: dict) -> Decimal | None:
        key = f"scores.{c.code}"
        if isinstance(raw, bool | float) or not isinstance(raw, str | int | Decimal):
            errors.setdefault(key, []).append(f'{c.name}: give the score as a decimal string, e.g. "4.5".')
            return None
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            errors.setdefault(key, []).append(f"{c.name}: {raw!r} is not a number.")
            return None
        if not value.is_finite():
            errors.setdefault(key, []).append(f"{c.name}: {raw!r} is not a number.")
            return None
        if value < 0 or value > c.max:
            errors.setdefault(key, []).append(f"{c.name}: {number(value)} is outside the range 0 to {number(c.max)}.")
            return None
        if value % c.step != 0:
            errors.setdefault(key, []).append(
                f"{c.name}: {number(value)} is not on the scale: scores go in steps of {number(c.step)}."
            )
            return None
        return value.quantize(Decimal("0.01"))


def scheme_from_data(data: dict) -> Scheme:
    """Read a scheme from its JSON form; raise ValueError naming what is wrong."""
    criteria = []
    seen = set()
    for row in data.get("criteria") or []:
        code = str(row.get("code") or "").strip()
        if not code or code in seen:
            raise ValueError(f"the evaluation scheme has a missing or repeated criterion code: {code!r}")
        seen.add(code)
        criterion = Criterion(
            code=code,
            name=str(row.get("name") or code.title()),
            max=_decimal(row.get("max", "5"), f"{code} maximum"),
            step=_decimal(row.get("step", "0.5"), f"{code} step"),
            threshold=_decimal(row.get("threshold", "0"), f"{code} threshold"),
            weight=_decimal(row.get("weight", "1"), f"{code} weight"),
        )
        if criterion.max <= 0 or criterion.step <= 0 or criterion.weight < 0 or criterion.max % criterion.step:
            raise ValueError(f"the evaluation scheme's criterion {code} has an impossible maximum, step or weight")
        criteria.append(criterion)
    if not criteria:
        raise ValueError("the evaluation scheme lists no criteria")
    tie_break = tuple(str(k) for k in data.get("tie_break") or ())
    return Scheme(
        criteria=tuple(criteria),
        overall_threshold=_decimal(data.get("overall_threshold", "0"), "overall threshold"),
        min_evaluators=int(data.get("min_evaluators", 3)),
        tie_break=tie_break,
    )


def scheme_of(call) -> Scheme:
    """The evaluation scheme of `call`. A broken scheme is a state the officer must fix: 409 with the reason."""
    from eurohpc.errors import StateConflict

    try:
        return scheme_from_data(call.evaluation_scheme or {})
    except ValueError as exc:
        raise StateConflict(f"{call.identifier}: {exc}.", code="scheme_invalid") from None
