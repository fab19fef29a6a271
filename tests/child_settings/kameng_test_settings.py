"""Settings for the kameng processes tests start (the browser suite's `kameng serve`, and the ops and
security tests' servers, workers and CLI runs on a database of their own): kameng's own, but for the
password hasher. Their environment names it (DJANGO_SETTINGS_MODULE=kameng_test_settings) and puts this
folder on PYTHONPATH (tests/ops/conftest.py: IsolatedDatabase; tests/e2e/conftest.py: the server).

Production hashing (PBKDF2, 1.5M rounds) costs ~0.5 CPU seconds per registration, login, guest query
password and demo account (`kameng demo` makes 11: 7.9 CPU s against 3.0 s with this), and nothing
those tests check depends on it. The in-process suite hashes the same way (tests/conftest.py,
`_fast_password_hashing`).
"""

from kameng.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
