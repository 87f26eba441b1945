"""The fast forms of `{% url %}` and `|date` used in long tables write exactly what Django's own would."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import engines

UTC = ZoneInfo("UTC")


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load programme %}" + source).render(context)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 1, 31, 23, 30, tzinfo=UTC),  # CET, the next day in Luxembourg
        datetime(2025, 7, 4, 9, 5, tzinfo=UTC),  # CEST
        datetime(2025, 3, 30, 1, 0, tzinfo=UTC),  # the hour the clocks go forward
    ],
)
def test_local_time_and_day_write_what_the_date_filter_writes(moment):
    assert render("{{ t|local_time }}", t=moment) == render('{{ t|date:"d M Y H:i T" }}', t=moment)
    assert render("{{ t|local_day }}", t=moment) == render('{{ t|date:"d M Y" }}', t=moment)


def test_local_time_names_the_zone_in_the_hour_the_clocks_go_back():
    """Django's `T` leaves the repeated hour's zone empty; the tables write it as messages do (formatting.local)."""
    first, second = datetime(2024, 10, 27, 0, 30, tzinfo=UTC), datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert render("{{ t|local_time }}", t=first) == "27 Oct 2024 02:30 CEST"
    assert render("{{ t|local_time }}", t=second) == "27 Oct 2024 02:30 CET"
    assert render("{{ t|local_day }}", t=second) == render('{{ t|date:"d M Y" }}', t=second)


def test_local_day_of_a_date_and_of_nothing_write_what_the_date_filter_writes():
    assert render("{{ d|local_day }}", d=date(2026, 2, 3)) == "03 Feb 2026"
    for value in (None, ""):
        assert render("{{ t|local_time }}|{{ t|local_day }}", t=value) == render(
            '{{ t|date:"d M Y H:i T" }}|{{ t|date:"d M Y" }}', t=value
        )


@pytest.mark.parametrize("name", ["proposal-detail", "evaluation-consensus", "hosting:project-detail"])
def test_id_url_writes_what_the_url_tag_writes(name):
    for pk in (1, 42, 9223372036854775807):
        assert render("{% id_url name pk %}", name=name, pk=pk) == render("{% url name pk %}", name=name, pk=pk)
