import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from labs.deadlines import deadline_for, format_paris, format_time_left, in_paris
from labs.models import BreachLaboratory
from tests.factories import BreachFactory, LaboratoryFactory

PARIS = ZoneInfo("Europe/Paris")


def test_a_clock_crossing_the_march_change_lasts_72_real_hours_and_ends_an_hour_later_on_the_wall():
    # given awareness on Friday 26 March 2021 at 10:00 in Paris (UTC+1); clocks go forward on the 28th
    aware_at = dt.datetime(2021, 3, 26, 10, 0, tzinfo=PARIS)
    # when the deadline is computed
    due = deadline_for(aware_at, hours=72)
    # then 72 elapsed hours, i.e. Monday 29 March 11:00 Paris time (UTC+2)
    assert due - aware_at == dt.timedelta(hours=72)
    assert due.tzinfo == dt.UTC
    assert in_paris(due).replace(tzinfo=None) == dt.datetime(2021, 3, 29, 11, 0)
    assert format_paris(due) == "29/03/2021 11:00 (UTC+02:00)"


def test_a_clock_crossing_the_october_change_ends_an_hour_earlier_on_the_wall():
    # given awareness on Friday 29 October 2021 at 10:00 in Paris (UTC+2); clocks go back on the 31st
    aware_at = dt.datetime(2021, 10, 29, 10, 0, tzinfo=PARIS)
    # when / then: Monday 1 November 09:00 Paris time (UTC+1), still 72 real hours
    due = deadline_for(aware_at, hours=72)
    assert (due - aware_at).total_seconds() == 72 * 3600
    assert format_paris(due) == "01/11/2021 09:00 (UTC+01:00)"


def test_awareness_in_the_repeated_october_hour_is_unambiguous_with_its_offset():
    # given 02:30 on 31 October 2021 happens twice in Paris; fold=1 is the second one (UTC+1)
    first = dt.datetime(2021, 10, 31, 2, 30, tzinfo=PARIS, fold=0)
    second = dt.datetime(2021, 10, 31, 2, 30, tzinfo=PARIS, fold=1)
    # when / then the deadlines are one real hour apart
    assert deadline_for(second, hours=72) - deadline_for(first, hours=72) == dt.timedelta(hours=1)


def test_a_naive_awareness_time_is_refused():
    with pytest.raises(ValueError, match="offset"):
        deadline_for(dt.datetime(2021, 3, 26, 10, 0))


def test_the_deadline_hours_come_from_settings(settings):
    # given a configured 96-hour deadline, when computed, then 96 hours are added
    settings.CNIL_DEADLINE_HOURS = 96
    aware_at = dt.datetime(2021, 2, 23, 9, 0, tzinfo=PARIS)
    assert deadline_for(aware_at) - aware_at == dt.timedelta(hours=96)


@pytest.mark.django_db
def test_the_case_file_stores_its_deadline_and_moves_it_with_awareness():
    # given a case file aware on 26 March 2021 10:00 Paris
    case_file = BreachLaboratory.objects.create(
        breach=BreachFactory(), laboratory=LaboratoryFactory(), aware_at=dt.datetime(2021, 3, 26, 10, 0, tzinfo=PARIS)
    )
    # when awareness is corrected to a day later
    case_file.aware_at = dt.datetime(2021, 3, 27, 10, 0, tzinfo=PARIS)
    case_file.save(update_fields=["aware_at"])
    # then the stored, indexed deadline follows (and is found by a query on it)
    case_file.refresh_from_db()
    assert format_paris(case_file.due_at) == "30/03/2021 11:00 (UTC+02:00)"
    assert BreachLaboratory.objects.filter(due_at__lt=dt.datetime(2021, 3, 30, 10, tzinfo=dt.UTC)).count() == 1


def test_time_left_reads_in_days_hours_and_minutes_and_says_overdue():
    assert format_time_left(dt.timedelta(days=1, hours=5, minutes=12)) == "reste 1 j 05 h 12 min"
    assert format_time_left(-dt.timedelta(hours=3, minutes=4)) == "dépassé de 03 h 04 min"
