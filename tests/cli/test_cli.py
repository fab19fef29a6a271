"""The `kameng` command in-process: init, user create, worker --once, ledger check."""

import signal
from datetime import timedelta

import pytest

from kameng.cli import main


def test_init_is_idempotent(transactional_db, capsys):
    assert main(["init"]) == 0
    assert main(["init"]) == 0
    assert capsys.readouterr().out.count("database ready") == 2


@pytest.mark.parametrize("role", ["buyer", "merchant", "arbitrator", "admin"])
def test_user_create_makes_any_role(db, capsys, role):
    from kameng.accounts.models import User

    assert main(["user", "create", "--username", f"cli-{role}", "--password", "pw-123456", "--role", role]) == 0
    user = User.objects.get(username=f"cli-{role}")
    assert user.role == role
    assert user.check_password("pw-123456")
    assert user.is_superuser == (role == "admin")
    assert f"created {role} cli-{role}" in capsys.readouterr().out


def test_user_create_refuses_a_taken_name_with_exit_1(db, capsys):
    args = ["user", "create", "--username", "dup", "--password", "pw-123456", "--role", "arbitrator"]
    assert main(args) == 0
    assert main(args) == 1
    assert "用户名已被占用" in capsys.readouterr().err


def test_user_create_rejects_unknown_roles(db):
    with pytest.raises(SystemExit):
        main(["user", "create", "--username", "x", "--password", "pw-123456", "--role", "god"])


def test_worker_once_runs_due_timers_and_leaves_future_ones(transactional_db, capsys):
    from kameng.clock.services import now
    from kameng.timers import services as timers
    from kameng.timers.models import Timer, TimerStatus

    ran = []
    timers.HANDLERS["test.cli"] = lambda target, at: ran.append(target)
    try:
        moment = now()
        timers.schedule("test.cli", "due", moment - timedelta(seconds=5), now=moment)
        timers.schedule("test.cli", "later", moment + timedelta(hours=1), now=moment)
        before = signal.getsignal(signal.SIGINT)
        assert main(["worker", "--once"]) == 0
        assert signal.getsignal(signal.SIGINT) is before  # the caller's handlers come back
        assert ran == ["due"]
        assert "ran 1 timer(s)" in capsys.readouterr().out
        assert main(["worker", "--once", "--quiet"]) == 0
        assert ran == ["due"]
        assert Timer.objects.get(target="later").status == TimerStatus.PENDING
    finally:
        del timers.HANDLERS["test.cli"]


def test_ledger_check_on_an_empty_ledger_is_ok(db, capsys):
    assert main(["ledger", "check"]) == 0
    assert "ledger OK: 0 entries" in capsys.readouterr().out
