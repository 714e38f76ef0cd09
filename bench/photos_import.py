"""Bulk photo import: throughput with 1 process and with 2, and whether 2 reach the target speed-up.

    .venv/bin/python bench/photos_import.py [--repeat N] [--rounds N] [--target 1.6]

Imports the real identity photos of ../shared/faces (each one `--repeat` times, under different generated ID
numbers) into a fresh SQLite database and photo folder per run, in a temporary directory, through
photos.importer.import_photos: the same code as `opcert photos import`. Throughput counts every photo examined
(imported or refused) per second of the import itself (not app start-up or migrations).

Other work on the machine slows some runs down, never speeds one up: so the runs alternate (1, 2, 1, 2, ...) and
each setting is judged by its fastest round, as timeit does. Every round is printed with the CPU that other
programs took meanwhile (Linux: /proc/stat less this process and its workers), so a slow round can be told from a
slow importer. Exit code 1 on FAIL.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import flask_migrate

from opcert import create_app
from opcert.accounts.idnumber import check_character
from opcert.extensions import db
from photos.importer import ImportReport, import_photos

IDENTITIES = Path(__file__).resolve().parents[2] / "shared" / "faces" / "identities"


def id_number(n: int) -> str:
    """A valid resident ID number, different for every n (one birth date per n)."""
    first17 = f"310101{dt.date(1960, 1, 1) + dt.timedelta(days=n):%Y%m%d}{n % 100:02d}1"
    return first17 + check_character(first17)


def write_csv(folder: Path, photos: list[Path], repeat: int) -> Path:
    """A CSV listing every photo `repeat` times, each time for another person."""
    path = folder / "photos.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_number", "path"])
        for n in range(len(photos) * repeat):
            writer.writerow([id_number(n), photos[n % len(photos)]])
    return path


def machine_busy_seconds() -> float:
    """CPU seconds all programs have used since boot (0 where /proc/stat is missing)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU seconds used by this process and its finished children (the import's workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed_import(run_dir: Path, source: Path, processes: int) -> tuple[float, float, ImportReport]:
    """Seconds taken by one import into a fresh database and photo folder, the CPUs other programs kept busy
    meanwhile (on average), and the import's report."""
    run_dir.mkdir()
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "PHOTO_SUBJECT_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{run_dir / 'opcert.sqlite'}",
            "PHOTO_STORAGE_DIR": str(run_dir / "photos"),
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        logging.getLogger("alembic").setLevel(logging.WARNING)
        started, machine, own = time.perf_counter(), machine_busy_seconds(), own_seconds()
        report = import_photos(source=source, processes=processes)
        elapsed = time.perf_counter() - started
        others = (machine_busy_seconds() - machine - (own_seconds() - own)) / elapsed
        db.engine.dispose()
    return elapsed, max(0.0, others), report


def main() -> int:
    """Run both imports and print the figures; 0 on PASS, 1 on FAIL."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="times each identity photo is imported (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each setting, alternating (default 3)")
    parser.add_argument("--target", type=float, default=1.6, help="required speed-up of 2 processes over 1")
    args = parser.parse_args()
    photos = sorted(IDENTITIES.glob("*/*.jpg"))
    if not photos:
        print(f"no photos in {IDENTITIES}", file=sys.stderr)
        return 2
    for photo in photos:
        photo.read_bytes()  # both runs start with the files in the page cache
    with tempfile.TemporaryDirectory(prefix="opcert-bench-import-") as tmp:
        folder = Path(tmp)
        source = write_csv(folder, photos, args.repeat)
        total = len(photos) * args.repeat
        print(f"{total} photos ({len(photos)} x {args.repeat}), {os.cpu_count()} CPUs, {args.rounds} rounds")
        rates: dict[int, list[float]] = {1: [], 2: []}
        free: dict[int, list[float]] = {1: [], 2: []}  # CPUs other programs left this import
        for round_no in range(1, args.rounds + 1):
            for processes in (1, 2):
                elapsed, others, report = timed_import(folder / f"run-{round_no}-{processes}", source, processes)
                rates[processes].append(total / elapsed)
                free[processes].append(max(0.0, (os.cpu_count() or 1) - others))
                print(
                    f"  round {round_no}, {processes} process{'es' if processes > 1 else '  '}: {elapsed:6.1f} s  "
                    f"{total / elapsed:5.2f} photos/s  (imported {report.imported}, refused {len(report.refused)}, "
                    f"skipped {report.skipped}; other programs used {others:.2f} CPUs)"
                )
    fastest = {processes: values.index(max(values)) for processes, values in rates.items()}
    best = {processes: rates[processes][i] for processes, i in fastest.items()}
    # With c CPUs left free, n processes can use at most min(n, c) of them.
    ceiling = min(2.0, free[2][fastest[2]]) / max(1e-9, min(1.0, free[1][fastest[1]]))
    ratio = best[2] / best[1]
    verdict = "PASS" if ratio >= args.target else "FAIL"
    print(f"best: 1 process {best[1]:.2f} photos/s, 2 processes {best[2]:.2f} photos/s")
    print(f"speed-up with 2 processes: {ratio:.2f}x (target >= {args.target}x): {verdict}")
    print(f"  (the CPUs other programs left free during those two rounds allowed at most {ceiling:.2f}x)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
