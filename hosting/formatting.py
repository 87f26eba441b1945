"""How quantities read in messages and pages: 1,234,567.50 GPU-hours, 35%."""

from decimal import ROUND_HALF_UP, Decimal

UNIT_LABELS = {"gpu_hours": "GPU-hours", "node_hours": "node-hours", "core_hours": "core-hours"}


def qty(value: Decimal | int, places: int = 2) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"{Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP):,}"


def hours(value: Decimal | int, unit: str) -> str:
    return f"{qty(value)} {UNIT_LABELS.get(unit, unit)}"


def pct(share: Decimal) -> str:
    """0.35 -> '35%', 0.4275 -> '42.75%'."""
    value = (Decimal(share) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    return f"{value:f}%"
