"""The one clock every part of kameng reads the time from.

In production it is the system clock. With KAMENG_TEST_CLOCK=1 an offset stored in the
database is added, so the server, the workers and the tests all see the same moved time.
"""
