"""Timer and job entry points for refund cases: each timer kind reads the case id and calls its
service; notification emails are a job (sent after commit, on Celery when a broker is configured)."""

from django.core.mail import send_mail

from kameng.timers.jobs import job
from kameng.timers.services import handler

from . import services

# timer kind → the use case that runs when it is due (each re-checks the case under its lock)
DUE = {
    services.MERCHANT_TIMER: services.expire_merchant_deadline,
    services.BUYER_TIMER: services.expire_buyer_deadline,
    services.COMPROMISE_TIMER: services.expire_compromise_deadline,
    services.APPEAL_TIMER: services.expire_appeal_window,
    services.DECIDE_TIMER: services.flag_overdue_decision,
    services.REMINDER_TIMER: services.remind_deadline,
}


def _register(kind, use_case):
    @handler(kind)
    def run(target: str, now) -> None:
        use_case(int(target.split(":", 1)[1]), now)

    return run


for _kind, _use_case in DUE.items():
    _register(_kind, _use_case)


@job("send_notification_email")
def send_notification_email(to: str, subject: str, body: str) -> int:
    return send_mail(subject, body, None, [to], fail_silently=False)
