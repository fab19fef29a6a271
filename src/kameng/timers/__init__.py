"""Deadlines as database rows, run exactly once by a sweeper (in `kameng serve` or `kameng worker`)."""
