"""decide_by = 3 working days: Chinese public holidays and 调休 make-up working days respected,
from the chinesecalendar package where it has the year and the operator's Holiday table where not.

The 2025 National Day holiday (chinesecalendar 1.11): Oct 1–8 off (Oct 6 is 中秋), Sunday Sept 28
and Saturday Oct 11 are make-up working days.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from kameng.policy.models import Holiday
from kameng.policy.services import add_working_days, is_working_day

CST = ZoneInfo("Asia/Shanghai")


def cst(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_the_package_knows_the_2025_national_day_holiday():
    assert [chinese_calendar.is_workday(date(2025, 10, d)) for d in range(1, 9)] == [False] * 8
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # Sunday, make-up day
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # Saturday, make-up day
    assert not chinese_calendar.is_workday(date(2025, 10, 12))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2031, 10, 1))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "start, expected",
    [
        (cst(2025, 9, 25, 10), cst(2025, 9, 29, 10)),  # Thu → Fri, Sun 28 (make-up), Mon 29
        (cst(2025, 9, 26, 10), cst(2025, 9, 30, 10)),  # Fri → Sun 28, Mon 29, Tue 30
        (cst(2025, 9, 29, 10), cst(2025, 10, 10, 10)),  # Mon → Tue 30, (Oct 1–8 off) Thu 9, Fri 10
        (cst(2025, 9, 30, 10), cst(2025, 10, 11, 10)),  # Tue → Thu 9, Fri 10, Sat 11 (make-up)
        (cst(2025, 10, 3, 10), cst(2025, 10, 11, 10)),  # asked during the holiday
        (cst(2025, 10, 10, 10), cst(2025, 10, 14, 10)),  # Fri → Sat 11 (make-up), Mon 13, Tue 14
        (cst(2025, 9, 30, 23, 30), cst(2025, 10, 11, 23, 30)),  # late evening keeps its Shanghai date
    ],
)
def test_three_working_days_across_national_day_2025(start, expected):
    assert add_working_days(start, 3) == expected


@pytest.mark.django_db
def test_a_year_the_package_lacks_falls_back_to_weekends_and_the_holiday_table():
    # Without operator data: Monday to Friday.
    assert add_working_days(cst(2031, 9, 30, 10), 3) == cst(2031, 10, 3, 10)
    assert add_working_days(cst(2031, 10, 9, 10), 3) == cst(2031, 10, 14, 10)
    _national_day_2031()
    assert not is_working_day(date(2031, 10, 1)) and is_working_day(date(2031, 10, 11))
    assert add_working_days(cst(2031, 9, 30, 10), 3) == cst(2031, 10, 10, 10)  # Oct 1–7 off
    assert add_working_days(cst(2031, 10, 9, 10), 3) == cst(2031, 10, 13, 10)  # Sat Oct 11 works


def _national_day_2031():
    """What an operator would enter once the State Council publishes 2031 (hypothetical dates)."""
    for d in range(1, 8):
        Holiday.objects.create(date=date(2031, 10, d), name="国庆节")
    Holiday.objects.create(date=date(2031, 9, 28), name="国庆节调休", is_workday=True)
    Holiday.objects.create(date=date(2031, 10, 11), name="国庆节调休", is_workday=True)


def _escalated_case(case_in):
    case = case_in("in_arbitration")
    escalated = [e for e in case["events"] if e["type"] == "escalate"][0]
    return case, datetime.fromisoformat(escalated["at"]).astimezone(CST)


def test_decide_by_over_http_across_national_day_2025(clock_at, case_in):
    clock_at(cst(2025, 9, 26, 10))  # Friday
    case, escalated = _escalated_case(case_in)
    assert escalated.date() == date(2025, 9, 26)
    decide_by = datetime.fromisoformat(case["deadlines"]["decide_by"])
    assert decide_by == escalated + timedelta(days=4)  # Sun 28 (make-up), Mon 29, Tue 30
    clock_at(cst(2025, 9, 30, 10))  # Tuesday, the eve of the holiday
    case, escalated = _escalated_case(case_in)
    assert escalated.date() == date(2025, 9, 30)
    decide_by = datetime.fromisoformat(case["deadlines"]["decide_by"])
    assert decide_by == escalated + timedelta(days=11)  # Thu Oct 9, Fri 10, Sat 11 (make-up), same time of day
    assert decide_by.astimezone(CST).date() == date(2025, 10, 11)


def test_decide_by_over_http_in_a_year_only_the_holiday_table_knows(clock_at, case_in):
    _national_day_2031()
    clock_at(cst(2031, 9, 30, 10))
    case, escalated = _escalated_case(case_in)
    assert escalated.date() == date(2031, 9, 30)
    decide_by = datetime.fromisoformat(case["deadlines"]["decide_by"])
    assert decide_by.astimezone(CST).date() == date(2031, 10, 10) and decide_by == escalated + timedelta(days=10)
    clock_at(cst(2031, 10, 9, 10))
    case, escalated = _escalated_case(case_in)
    decide_by = datetime.fromisoformat(case["deadlines"]["decide_by"])
    assert decide_by.astimezone(CST).date() == date(2031, 10, 13)  # via the make-up Saturday


def test_the_overdue_flag_follows_working_days(clock_at, case_in, api, arbitrator, advance):
    clock_at(cst(2025, 9, 30, 10))
    case, _ = _escalated_case(case_in)
    advance(10 * 86400)  # Oct 10: a week of holiday is no excuse, but the deadline is Oct 11
    queue = api.get("/arbitration/queue", token=arbitrator.token).data["data"]
    assert queue[0]["id"] == case["id"] and queue[0]["overdue"] is False
    advance(86400 + 60)
    queue = api.get("/arbitration/queue", token=arbitrator.token).data["data"]
    assert queue[0]["overdue"] is True
