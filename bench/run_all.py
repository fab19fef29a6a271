"""`make bench`: the quick version of every benchmark, one after the other, and one summary table.

    .venv/bin/python bench/run_all.py            # quick sizes (minutes); the full runs are in RESULTS.md
    .venv/bin/python bench/run_all.py --only purchases,sweep

Each benchmark runs as its own command (exactly as RESULTS.md shows it, with smaller sizes) and its
whole output is kept under var/bench/<name>.log; the table quotes the figures each printed, beside
the issue's target. Quick sizes are for noticing a regression, not for quoting: the figures of record
come from the full runs. Ratios are measured side by side within one benchmark's run, but for the
refund lifecycles over the purchases: two benchmarks of this run, one after the other (RATIOS).
"""

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _common import PYTHON, ROOT, machine


@dataclass(frozen=True)
class Figure:
    label: str
    pattern: str  # a regular expression whose first group is the number
    target: str = ""  # e.g. ">= 30" or "< 10" (same unit as the number), empty: reported only
    unit: str = ""

    def read(self, output: str) -> float | None:
        match = re.search(self.pattern, output, re.MULTILINE)
        return float(match.group(1).replace(",", "")) if match else None

    def met(self, value: float | None) -> str:
        if value is None:
            return "MISSING"
        if not self.target:
            return ""
        op, bound = self.target.split()
        ok = value >= float(bound) if op == ">=" else value < float(bound)
        return "met" if ok else "missed"


@dataclass(frozen=True)
class Bench:
    name: str
    args: list[str]
    figures: list[Figure]


BENCHES = [
    Bench(
        "purchases",
        ["purchases.py", "--db", "postgres", "--requests", "400", "--warmup", "50", "--raw", "600"],
        [
            Figure("purchases over HTTP", r"^HTTP .*per_second=([\d.]+)", unit="/s"),
            Figure("purchase p95", r"^HTTP .*p95_ms=([\d.]+)", unit="ms"),
            Figure("same transaction, raw SQL", r"^RAW .*per_second=([\d.]+)", unit="/s"),
            Figure("HTTP / raw SQL", r"RATIO HTTP/raw = ([\d.]+)%", ">= 30", "%"),
        ],
    ),
    Bench(
        "checkout",
        ["checkout.py", "--db", "postgres", "--requests", "200", "--warmup", "20", "--rounds", "2"],
        [
            Figure("wallet purchases (same run)", r"^WALLET .*per_second=([\d.]+)", unit="/s"),
            Figure("direct checkouts, epay (order+notify)", r"^EPAY .*per_second=([\d.]+)", unit="/s"),
            Figure("direct checkout p95", r"^EPAY .*p95_ms=([\d.]+)", unit="ms"),
            Figure("epay / wallet", r"^RATIO .* = ([\d.]+)%", unit="%"),
        ],
    ),
    Bench(
        "refunds",
        # In rounds with purchases on the same server: the ratio of two rates the machine's swings move together.
        ["refunds.py", "--db", "postgres", "--lifecycles", "150", "--rounds", "3"],
        [
            Figure("refund lifecycles (open → accept)", r"open → accept: .*per_second=([\d.]+)", unit="/s"),
            Figure("refund lifecycle p95", r"open → accept: .*p95_ms=([\d.]+)", "< 300", "ms"),
            Figure("lifecycles / purchases, same rounds", r"RATIO lifecycles/purchases = ([\d.]+)%", ">= 40", "%"),
        ],
    ),
    Bench(
        "timers",
        ["timers.py", "--db", "postgres", "--total", "120000", "--due", "20000"],
        [
            Figure("no-op sweep, one sweeper", r"^sweep: .*: ([\d,]+) timers/s", ">= 8000", "/s"),
            Figure("finding nothing due (median)", r"after the sweep .*median ([\d.]+) ms", "< 2", "ms"),
        ],
    ),
    Bench(
        "sweep",
        ["sweep.py", "--db", "postgres", "--orders", "2000", "--cases", "200", "--sweepers", "1,2"],
        [
            Figure(
                "escrow releases swept, one sweeper", r"^releases[^:]*: .* 1 sweeper.*: ([\d,.]+)/s", ">= 1500", "/s"
            ),
            Figure(
                "escrow releases swept, two sweepers", r"^releases[^:]*: .* 2 sweeper.*: ([\d,.]+)/s", ">= 2500", "/s"
            ),
            Figure(
                "merchant deadlines swept, one sweeper",
                r"^merchant deadlines[^:]*: .* 1 sweeper.*: ([\d,.]+)/s",
                unit="/s",
            ),
        ],
    ),
    Bench(
        "cases",
        [
            "cases.py",
            "--cases",
            "50000",
            "--events-per-case",
            "10",
            "--merchants",
            "100",
            "--buyers",
            "2000",
            "--requests",
            "300",
            "--clients",
            "8",
            "--concurrent-requests",
            "1500",
        ],
        [
            Figure("case page p95", r"GET /refunds/\{random.*p95\s+([\d.]+) ms", "< 10", "ms"),
            Figure("case page, 8 clients", r"GET /refunds/\{random\}\s+([\d.]+) requests/s", ">= 250", "/s"),
            Figure("arbitration queue of 50 p95", r"GET /arbitration/queue \(50.*p95\s+([\d.]+) ms", "< 12", "ms"),
            Figure("/metrics p95", r"GET /metrics.*p95\s+([\d.]+) ms", "< 20", "ms"),
        ],
    ),
    Bench(
        "upload_memory",
        ["upload_memory.py", "--uploads", "2", "--size-mib", "10"],
        [Figure("worker peak over baseline, 10 MiB upload", r"\(\+([\d.]+) MiB over the warm baseline\)", unit="MiB")],
    ),
]


@dataclass(frozen=True)
class Ratio:
    """A figure of one benchmark over a figure of another, both from this run (refunds over purchases)."""

    label: str
    numerator: tuple[str, str]  # (benchmark, figure label)
    denominator: tuple[str, str]
    figure: Figure  # its target and unit ("%"); its pattern is unused


RATIOS = [
    Ratio(  # the target is the refunds run's own, in rounds (the two rates side by side)
        "lifecycles / purchases, separate runs",
        ("refunds", "refund lifecycles (open → accept)"),
        ("purchases", "purchases over HTTP"),
        Figure("", "", "", "%"),
    ),
]


def ratios(rows: list[tuple[str, Figure, float | None]]) -> list[tuple[str, Figure, float | None]]:
    """The RATIOS whose two figures this run has (as rows of the table; a missing side shows MISSING)."""
    found = {(name, figure.label): value for name, figure, value in rows}
    out = []
    for ratio in RATIOS:
        if ratio.numerator not in found or ratio.denominator not in found:
            continue  # --only left one side out
        top, bottom = found[ratio.numerator], found[ratio.denominator]
        value = 100 * top / bottom if top is not None and bottom else None
        out.append(("ratio", Figure(ratio.label, "", ratio.figure.target, ratio.figure.unit), value))
    return out


def run(bench: Bench, logs: Path) -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, str(ROOT / "bench" / bench.args[0]), *bench.args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("KAMENG_")},
    )
    output = proc.stdout + proc.stderr
    (logs / f"{bench.name}.log").write_text(output)
    if proc.returncode:
        output += f"\n(exit {proc.returncode})"
    return output, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="", help="comma-separated benchmark names: " + ",".join(b.name for b in BENCHES)
    )
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only.split(",")]
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}", flush=True)
    rows, failed = [], False
    for bench in chosen:
        print(f"running {bench.name}: bench/{' '.join(bench.args)}", flush=True)
        output, seconds = run(bench, logs)
        print(f"  done in {seconds:.0f}s (log: var/bench/{bench.name}.log)", flush=True)
        for figure in bench.figures:
            value = figure.read(output)
            failed |= value is None
            rows.append((bench.name, figure, value))
    derived = ratios(rows)
    failed |= any(value is None for _, _, value in derived)
    rows += derived
    print()
    print(f"| {'benchmark':<13} | {'figure':<38} | {'quick run':>12} | {'target':>9} | {'':<7} |")
    print(f"|{'-' * 15}|{'-' * 40}|{'-' * 14}|{'-' * 11}|{'-' * 9}|")
    for name, figure, value in rows:
        shown = "—" if value is None else f"{value:,.1f} {figure.unit}"
        target = f"{figure.target} {figure.unit}" if figure.target else ""
        print(f"| {name:<13} | {figure.label:<38} | {shown:>12} | {target:>9} | {figure.met(value):<7} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
