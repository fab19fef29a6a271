"""The browser suite's server settings: kameng's own, but for the password hasher.

Production hashing (PBKDF2, 1.5M rounds) costs ~0.5 CPU seconds per registration and per login, and
the stories register and sign in ~100 times against one server: a quarter of the suite's CPU, and
nothing a browser shows depends on it. The in-process suite hashes the same way (tests/conftest.py,
`_fast_password_hashing`); the subprocess seeds in tests/security do too.
"""

from kameng.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
