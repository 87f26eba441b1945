"""Server-side charts: coordinates for inline SVG drawn with presentation attributes (no script, no style).

The Content Security Policy forbids inline styles and scripts; SVG attributes such as `fill`, `width` and
`points` are allowed, so the templates draw from the numbers computed here.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from eurohpc.formatting import eur

ZERO = Decimal("0")


def _scale(value: Decimal, maximum: Decimal, length: float) -> float:
    if maximum <= 0:
        return 0.0
    return round(float(max(value, ZERO) / maximum) * length, 1)


@dataclass(frozen=True)
class Bar:
    code: str
    label: str
    y: float
    label_y: float
    paid_y: float
    amount_width: float
    committed_width: float
    paid_width: float
    over: bool


def envelope_bars(positions, *, width: int = 600, row: int = 34) -> dict:
    """One row per envelope: its amount, net commitments and payments, on one scale."""
    maximum = max((p.amount for p in positions), default=ZERO)
    bars = []
    for i, p in enumerate(positions):
        y = 8 + i * row
        bars.append(
            Bar(
                code=p.envelope.code,
                label=(
                    f"{p.envelope.code}: amount {eur(p.amount)}, committed {eur(p.net_committed)}, "
                    f"paid {eur(p.paid)}, available {eur(p.available)}"
                ),
                y=y,
                label_y=y + 14,
                paid_y=y + 6,
                amount_width=_scale(p.amount, maximum, width),
                committed_width=_scale(p.net_committed, maximum, width),
                paid_width=_scale(p.paid, maximum, width),
                over=p.available < 0,
            )
        )
    return {"bars": bars, "width": width + 170, "height": 16 + len(bars) * row, "plot_x": 160}


def time_series(points, *, ceiling: Decimal | None = None, width: int = 640, height: int = 220) -> dict | None:
    """Two polylines (cumulative net commitments and payments per month) under the envelope ceiling."""
    if not points:
        return None
    left, top, bottom = 60, 12, 30
    plot_w, plot_h = width - left - 12, height - top - bottom
    maximum = max([ceiling or ZERO, *(p.committed for p in points), *(p.paid for p in points)])
    if maximum <= 0:
        maximum = Decimal(1)
    steps = max(len(points) - 1, 1)

    def xy(i: int, value: Decimal) -> str:
        x = left + plot_w * i / steps
        y = top + plot_h - _scale(value, maximum, plot_h)
        return f"{x:.1f},{y:.1f}"

    ticks = []
    for i, point in enumerate(points):
        if len(points) <= 12 or i % max(len(points) // 6, 1) == 0 or i == len(points) - 1:
            ticks.append({"x": round(left + plot_w * i / steps, 1), "label": _month(point.month)})
    grid = []
    for fraction in (Decimal("0"), Decimal("0.25"), Decimal("0.5"), Decimal("0.75"), Decimal("1")):
        value = maximum * fraction
        grid.append({"y": round(top + plot_h - _scale(value, maximum, plot_h), 1), "label": _short(value)})
    last = points[-1]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": left + plot_w,
        "baseline": top + plot_h,
        "label_y": height - 8,
        "committed": " ".join(xy(i, p.committed) for i, p in enumerate(points)),
        "paid": " ".join(xy(i, p.paid) for i, p in enumerate(points)),
        "ceiling_y": round(top + plot_h - _scale(ceiling, maximum, plot_h), 1) if ceiling else None,
        "ticks": ticks,
        "grid": grid,
        "summary": (
            f"From {_month(points[0].month)} to {_month(last.month)}: net commitments reached {eur(last.committed)}, "
            f"payments {eur(last.paid)}" + (f", under a ceiling of {eur(ceiling)}" if ceiling else "") + "."
        ),
    }


def _month(value: date) -> str:
    return value.strftime("%b %Y")


def _short(value: Decimal) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.0f}M"
    if value >= 1_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:.0f}"
