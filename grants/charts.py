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
    value: str  # printed beside the bar: "EUR 747.3M of 800.0M committed"
    value_x: float


# The bar chart is drawn at about the width it is shown (a half-width panel), so that its text stays readable.
BAR_LABEL_WIDTH, BAR_VALUE_WIDTH = 110, 230


def envelope_bars(positions, *, width: int = 260, row: int = 34) -> dict:
    """One row per envelope: its amount, net commitments and payments, on one scale, with the figures beside."""
    maximum = max((p.amount for p in positions), default=ZERO)
    bars = []
    for i, p in enumerate(positions):
        y = 8 + i * row
        amount_width = _scale(p.amount, maximum, width)
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
                amount_width=amount_width,
                committed_width=_scale(p.net_committed, maximum, width),
                paid_width=_scale(p.paid, maximum, width),
                over=p.available < 0,
                value=f"{_short_eur(p.net_committed)} of {_short_eur(p.amount)} committed",
                value_x=BAR_LABEL_WIDTH + amount_width + 6,
            )
        )
    return {
        "bars": bars,
        "width": BAR_LABEL_WIDTH + width + BAR_VALUE_WIDTH,
        "height": 16 + len(bars) * row,
        "plot_x": BAR_LABEL_WIDTH,
    }


def time_series(points, *, ceiling: Decimal | None = None, width: int = 640, height: int = 220) -> dict | None:
    """Two polylines (cumulative net commitments and payments per month) under the envelope ceiling."""
    if not points:
        return None
    # The right margin holds half of the last month's label, which is centred on the last point.
    left, top, bottom, right = 60, 12, 30, 36
    plot_w, plot_h = width - left - right, height - top - bottom
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


def _short_eur(value: Decimal) -> str:
    """EUR 747.3M: a figure to read at a glance beside a bar (the table holds the cents)."""
    if abs(value) >= 1_000_000:
        return f"EUR {value / 1_000_000:,.1f}M"
    if abs(value) >= 1_000:
        return f"EUR {value / 1_000:,.1f}k"
    return f"EUR {value:,.2f}"
