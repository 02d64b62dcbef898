"""Generator benchmark: the pooled, seeded synthetic leak against a naive Faker-per-field writer.

    .venv/bin/python benchmarks/generate_leak.py [--rows 491839] [--baseline-rows 5000] [--out DIR]

Both run in the same invocation. The baseline asks Faker for every field of every row (what a first
version would do) and writes the same 30 columns with csv.writer. Prints rows/s of each, their ratio,
the full run's seconds (target: 491,839 rows in under 2 minutes) and the process's peak RSS.
Not a test: the machine is shared, so note `uptime` with the figures.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def naive_rows_per_second(path: Path, rows: int) -> float:
    from faker import Faker

    from patients.synthetic import HEADER

    fake = Faker("fr_FR")
    fake.seed_instance(1)
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(
                [
                    f"LAB{n % 27 + 1:02d}",
                    str(n),
                    fake.date_between("-6y", "-1y").strftime("%d/%m/%Y"),
                    fake.prefix(),
                    fake.last_name().upper(),
                    fake.first_name(),
                    fake.last_name() if fake.boolean(30) else "",
                    fake.date_of_birth().strftime("%d/%m/%Y"),
                    fake.ssn(),
                    "1",
                    fake.street_address(),
                    "",
                    fake.postcode(),
                    fake.city(),
                    "FRANCE",
                    fake.phone_number() if fake.boolean(55) else "",
                    fake.phone_number() if fake.boolean(32) else "",
                    fake.email() if fake.boolean(11) else "",
                    fake.random_element(("A", "B", "AB", "O")),
                    "POS",
                    f"Dr {fake.name()}",
                    fake.address().replace("\n", " "),
                    "CPAM",
                    f"Mutuelle {fake.last_name()}",
                    "",
                    fake.user_name() if fake.boolean(3) else "",
                    fake.password() if fake.boolean(3) else "",
                    "",
                    "",
                    fake.random_element(("F", "M")),
                ]
            )
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=491_839)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    parser.add_argument("--out", type=Path, default=None, help="directory for the files (default: a temp dir)")
    args = parser.parse_args()

    import django

    django.setup()
    from patients.synthetic import leak_generate

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        baseline = naive_rows_per_second(out / "naive.csv", args.baseline_rows)
        started = time.perf_counter()
        truth = leak_generate(path=out / "leak.csv", rows=args.rows, seed=2021)
        seconds = time.perf_counter() - started
        size_mb = (out / "leak.csv").stat().st_size / 1e6
    ours = args.rows / seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load average         : {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"naive Faker baseline : {baseline:,.0f} rows/s ({args.baseline_rows:,} rows)")
    print(
        f"generate_leak        : {ours:,.0f} rows/s — {args.rows:,} rows, {truth['patients']:,} patients, "
        f"{truth['rejected']} broken, {size_mb:.0f} MB in {seconds:.1f} s (target < 120 s)"
    )
    print(f"ratio                : {ours / baseline:.1f}× the baseline")
    print(f"peak RSS             : {peak_mb:.0f} MB (whole process, Django included)")


if __name__ == "__main__":
    main()
