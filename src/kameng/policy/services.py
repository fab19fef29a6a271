"""The policy object: defaults merged with the operator's overrides."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from django.db import transaction

from kameng.errors import DomainError, Error
from kameng.security.audit import record

from .defaults import DEFAULTS, MAX_COMMISSION_BP, MAX_SETTLEMENT_DAYS
from .models import Holiday, PolicySetting

CHINA = ZoneInfo("Asia/Shanghai")  # working days are counted on the Chinese calendar


@dataclass(frozen=True)
class Policy:
    values: Mapping[str, Any]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    def category(self, code: str) -> dict:
        return self.values["categories"][code]

    def category_class(self, code: str) -> str:
        return self.category(code)["class"]

    def commission_bp(self, category: str) -> int:
        """The platform's commission on a release in this category, in basis points (0–10000)."""
        bp = self.values["commission_bp"].get(category, 0)
        return bp if isinstance(bp, int) and 0 <= bp <= 10_000 else 0


# A request reads the policy once (kameng.policy.middleware opens this scope around each request):
# a purchase, a refund case and its deadlines ask for it several times. Outside a scope (timers,
# jobs, the shell, tests calling services) every call reads the table, as before.
_request_policy: ContextVar[list[Policy] | None] = ContextVar("kameng_request_policy", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    """Within this block get_policy() reads the table at most once (set_policy forgets what it read)."""
    token = _request_policy.set([])
    try:
        yield
    finally:
        _request_policy.reset(token)


def get_policy() -> Policy:
    memo = _request_policy.get()
    if memo:
        return memo[0]
    values = dict(DEFAULTS)
    for key, value in PolicySetting.objects.values_list("key", "value"):
        if key in values:
            values[key] = value
    policy = Policy(MappingProxyType(values))  # read-only: one request's callers share it
    if memo is not None:
        memo.append(policy)
    return policy


def set_policy(key: str, value: Any, *, acting_user, now: datetime) -> None:
    if key not in DEFAULTS:
        raise KeyError(key)
    if type(value) is not type(DEFAULTS[key]):
        raise TypeError(f"{key} must be {type(DEFAULTS[key]).__name__}")
    _check(key, value)
    memo = _request_policy.get()
    if memo:
        memo.clear()  # this request reads the new value from here on
    with transaction.atomic():
        previous = PolicySetting.objects.filter(key=key).values_list("value", flat=True).first()
        PolicySetting.objects.update_or_create(
            key=key, defaults={"value": value, "updated_at": now, "updated_by": acting_user.username}
        )
        # The setting keeps only its latest value: the audit log keeps every edit.
        record(
            "policy.set",
            actor=acting_user,
            target=f"policy:{key}",
            summary=f"{key}: {previous!r} → {value!r}",
            data={"key": key, "old": previous if previous is not None else DEFAULTS[key], "new": value},
            at=now,
        )
    if memo:
        memo.clear()  # and anything read while writing it


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check(key: str, value: Any) -> None:
    """The values that would break the rules they feed are refused (DomainError naming the key)."""
    if key == "grade_floors":
        floors = [value.get(g) for g in ("A", "B", "C", "D")]
        if set(value) != {"A", "B", "C", "D"} or not all(_whole(f, 1, 100) for f in floors):
            raise DomainError(Error.POLICY_GRADE_FLOORS_INVALID, param=key)
        if not floors[0] > floors[1] > floors[2] > floors[3]:
            raise DomainError(Error.POLICY_GRADE_FLOORS_INVALID, param=key)
    elif key == "suspend_after_overturned_refusals" and not _whole(value, 1, 20):
        raise DomainError(Error.POLICY_SUSPEND_AFTER_INVALID, param=key)
    elif key == "settlement_days" and not _whole(value, 0, MAX_SETTLEMENT_DAYS):
        raise DomainError(Error.POLICY_SETTLEMENT_DAYS_INVALID, param=key)
    elif key == "commission_bp":
        known = get_policy().categories
        if any(code not in known or not _whole(bp, 0, MAX_COMMISSION_BP) for code, bp in value.items()):
            raise DomainError(Error.POLICY_COMMISSION_INVALID, param=key)


def add_holiday(day: date, *, name: str = "", is_workday: bool = False, acting_user, now: datetime) -> Holiday:
    """An operator's calendar entry: `day` is a holiday, or (is_workday) a 调休 make-up working day.

    Replaces any entry on that date. Deadlines already set keep their time; new ones count with it.
    """
    name = (name or "").strip()
    if len(name) > 64:
        raise DomainError(Error.HOLIDAY_NAME_TOO_LONG, param="name")
    with transaction.atomic():
        previous = Holiday.objects.filter(date=day).values("name", "is_workday").first()
        holiday, _ = Holiday.objects.update_or_create(date=day, defaults={"name": name, "is_workday": is_workday})
        kind = "调休上班" if is_workday else "放假"
        record(
            "policy.holiday_set",
            actor=acting_user,
            target=f"holiday:{day.isoformat()}",
            summary=f"{day.isoformat()} {name} {kind}".replace("  ", " "),
            data={"date": day.isoformat(), "old": previous, "new": {"name": name, "is_workday": is_workday}},
            at=now,
        )
    return holiday


def remove_holiday(day: date, *, acting_user, now: datetime) -> bool:
    """Drop the operator's entry for `day` (the calendar package, or weekends, decide again)."""
    with transaction.atomic():
        previous = Holiday.objects.filter(date=day).values("name", "is_workday").first()
        if previous is None:
            return False
        Holiday.objects.filter(date=day).delete()
        record(
            "policy.holiday_removed",
            actor=acting_user,
            target=f"holiday:{day.isoformat()}",
            summary=f"{day.isoformat()} {previous['name']} removed".replace("  ", " "),
            data={"date": day.isoformat(), "old": previous},
            at=now,
        )
    return True


def is_working_day(day: date) -> bool:
    """Monday–Friday minus Chinese public holidays, plus 调休 make-up working days.

    The chinese_calendar package covers the years the State Council has published; outside
    them (or for corrections) the operator's Holiday table decides, falling back to weekends.
    """
    override = Holiday.objects.filter(date=day).values_list("is_workday", flat=True).first()
    if override is not None:
        return override
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no calendar for
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start`: same time of day, on a working day.

    A request made on a holiday starts counting from the next working day.
    """
    moment = start
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if is_working_day(moment.astimezone(CHINA).date()):
            remaining -= 1
    return moment


# ---- the calendar in force ---------------------------------------------------------------------

HOLIDAY_NAMES = {  # chinese_calendar's names → the names people use
    "New Year's Day": ("元旦", "New Year's Day"),
    "Spring Festival": ("春节", "Spring Festival"),
    "Tomb-sweeping Day": ("清明节", "Tomb-sweeping Day"),
    "Labour Day": ("劳动节", "Labour Day"),
    "Dragon Boat Festival": ("端午节", "Dragon Boat Festival"),
    "Mid-autumn Festival": ("中秋节", "Mid-autumn Festival"),
    "National Day": ("国庆节", "National Day"),
    "Anti-Fascist 70th Day": ("中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日", "Victory Day (70th anniversary)"),
}


@dataclass(frozen=True)
class CalendarDay:
    day: date
    name: str
    name_en: str
    is_workday: bool  # True: a 调休 make-up working day on a weekend; False: a day off
    source: str  # "calendar" (the State Council's, from chinese_calendar) or "operator" (the Holiday table)
    overrides: bool = False  # an operator's entry on a day the calendar also lists (it wins)


def calendar_covers(year: int) -> bool:
    """Whether chinese_calendar holds the State Council's calendar for `year`."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def calendar_in_force(year: int) -> list[CalendarDay]:
    """Every day of `year` the calendar treats unlike an ordinary week: public holidays (weekends inside
    a holiday period included) and 调休 working weekends, from chinese_calendar, then the operator's
    Holiday entries (which win: is_working_day reads them first)."""
    days: dict[date, CalendarDay] = {}
    if calendar_covers(year):
        for table, workday in ((chinese_calendar.holidays, False), (chinese_calendar.workdays, True)):
            for day, name in table.items():
                if day.year == year:
                    zh, en = HOLIDAY_NAMES.get(name, (name, name))
                    days[day] = CalendarDay(day, zh, en, workday, "calendar")
    for entry in Holiday.objects.filter(date__year=year):
        days[entry.date] = CalendarDay(
            entry.date, entry.name, entry.name, entry.is_workday, "operator", overrides=entry.date in days
        )
    return [days[d] for d in sorted(days)]
