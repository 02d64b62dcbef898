"""Letters benchmark: print-batch throughput of the fast (variant + stamp) path against plain WeasyPrint.

    .venv/bin/python benchmarks/letters.py [--letters 10000] [--plain 60] [--workers 2] [--batch-size 1000]
    .venv/bin/python benchmarks/letters.py --qr [--letters 2000]


Both paths run in the same invocation with the same number of worker processes. Letters are synthetic
LetterData (no database): 4 laboratories, 16 exposure combinations with skewed frequencies (as in a real
leak, a few combinations dominate), 8 % minors, 2 % English. Prints letters/s of each path, their ratio,
the on-demand letter latency (cold variant and warm), and each worker's RSS after every batch (it should
stay flat). Not a test: the machine is shared, so note `uptime` with the figures.

`--qr` compares, in one process, the QR encoder of letters/qr.py with segno encoding each code from
scratch (the two give the same modules): CPU per code, and CPU per letter of print batches with each.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _setup() -> None:
    import logging

    import django

    django.setup()
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def synthetic_letters(count: int, seed: int = 7, start: int = 0) -> list:
    from letters.content import LetterData
    from patients.categories import Exposure as E

    base = E.IDENTITY | E.BIRTH_DATE | E.POSTAL_ADDRESS
    masks = [
        base | E.NIR | E.PHONE | E.PRESCRIBER | E.INSURER | E.OTHER_ADMIN,
        base | E.NIR | E.PRESCRIBER | E.INSURER | E.OTHER_ADMIN,
        base | E.NIR | E.PHONE | E.PRESCRIBER | E.OTHER_ADMIN,
        base | E.PHONE | E.PRESCRIBER | E.OTHER_ADMIN,
        base | E.NIR | E.PHONE | E.EMAIL | E.PRESCRIBER | E.INSURER | E.OTHER_ADMIN,
        base | E.NIR | E.PRESCRIBER | E.BLOOD_GROUP | E.OTHER_ADMIN,
        base | E.NIR | E.PHONE | E.PRESCRIBER | E.INSURER | E.PORTAL_PASSWORD | E.OTHER_ADMIN,
        base | E.NIR | E.PHONE | E.PRESCRIBER | E.INSURER | E.MEDICAL_COMMENT | E.OTHER_ADMIN,
        base | E.NIR,
        base,
        base | E.EMAIL | E.PORTAL_PASSWORD,
        base | E.NIR | E.MEDICAL_COMMENT,
        base | E.PHONE,
        base | E.NIR | E.BLOOD_GROUP | E.MEDICAL_COMMENT | E.PORTAL_PASSWORD,
        E.IDENTITY | E.POSTAL_ADDRESS,
        E.IDENTITY | E.POSTAL_ADDRESS | E.NIR,
    ]
    weights = [1 / (rank + 1) ** 1.2 for rank in range(len(masks))]
    labs = [
        ("Laboratoire de la Vilaine", ("12 rue de la Santé", "35000 Rennes")),
        ("Biologie médicale du Morbihan", ("4 avenue Foch", "56000 Vannes")),
        ("Laboratoire d'analyses de l'Eure", ("9 place de la République", "27000 Évreux")),
        ("Labo Loiret Analyses", ("21 rue Jeanne d'Arc", "45000 Orléans")),
    ]
    firsts = ["Élodie", "Jean-Pierre", "Maëlle", "Yannick", "Zoé", "Ahmed", "Nathalie", "Loïc", "Inès", "Gwenaël"]
    lasts = ["Le Goff", "Martin", "Morvan", "Nguyen", "Dubois", "Kerjean", "Da Silva", "Lefèvre", "Bernard"]
    template = dict(
        template_version="2026-11-v1",
        sensitive_mask=0,
        lab_logo_path="",
        lab_signatory="La direction du laboratoire",
        dpo_name="Claire Martin",
        dpo_email="dpo@lab.example",
        dpo_phone="02 99 00 00 00",
        breach_title="Des données de patients ont été copiées depuis le logiciel de notre prestataire",
        breach_description="Un fichier de patients a été publié sur Internet.",
        breach_period="2015 – 2020",
        breach_processor="Éditeur du logiciel de laboratoire",
        breach_discovered_on=dt.date(2026, 11, 12),
        breach_measures=("Nous avons signalé la fuite à la CNIL.", "Nous avons changé tous les accès."),
        status_url="https://notifier.example/verifier/",
        sent_on=dt.date(2026, 11, 22),
    )
    out = []
    for i in range(start, count):
        rng = random.Random(seed * 1_000_003 + i)
        lab_name, lab_address = labs[rng.randrange(len(labs))]
        out.append(
            LetterData(
                reference=f"L{i:07d}",
                language="en" if rng.random() < 0.02 else "fr",
                recipient_civility=rng.choice(["Mme", "M."]),
                recipient_first_name=rng.choice(firsts),
                recipient_last_name=rng.choice(lasts),
                is_minor=rng.random() < 0.08,
                address_lines=(f"{rng.randint(1, 200)} rue des Lilas",),
                postcode=f"{rng.choice([22, 27, 35, 41, 45, 56])}{rng.randint(0, 999):03d}",
                city="Ville",
                country="FR",
                exposure_mask=int(rng.choices(masks, weights)[0]),
                nir_masked=f"{rng.choice('12')} {rng.randint(40, 99)} •• •• ••• ••• {rng.randint(1, 97):02d}",
                lab_name=lab_name,
                lab_address_lines=lab_address,
                dpo_address_lines=lab_address,
                status_code=f"{rng.randrange(16**8):08X}",
                verification_phrase=rng.choice(["tilleul bleu marée", "phare vert granit", "mouette rose lande"]),
                **template,
            )
        )
    return out


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _worker_ready(_: int) -> int:
    import letters.printing  # noqa: F401  (imports done before the clock starts)
    import letters.render  # noqa: F401

    time.sleep(0.2)  # let the sibling take the other warm-up task
    return os.getpid()


def _fast_batch(bounds: tuple[int, int, int]) -> tuple[int, int, int, float, float]:
    from letters.printing import build_print_batch

    start, stop, _total = bounds
    letters = synthetic_letters(stop, start=start)
    cpu = time.process_time()
    batch = build_print_batch(letters)
    return os.getpid(), stop - start, batch.total_pages, _rss_mb(), time.process_time() - cpu


def _plain_letter(index: int) -> tuple[int, float]:
    from letters.render import render_letter_pdf_plain

    letter = synthetic_letters(index + 1, start=index)[0]
    cpu = time.process_time()
    size = len(render_letter_pdf_plain(letter))
    return size, time.process_time() - cpu


def _segno_dark_runs(url: str) -> tuple[int, list[tuple[int, int, int]]]:
    """What letters.qr.dark_runs returns, computed by segno from scratch (the alternative to letters/qr.py)."""
    import re

    import segno

    from letters.qr import SEGNO_OPTIONS

    matrix = segno.make(url, **SEGNO_OPTIONS).matrix
    runs = []
    for row, modules in enumerate(matrix):
        runs.extend((row, match.start(), match.end() - match.start()) for match in re.finditer(rb"\x01+", modules))
    return len(matrix), runs


def qr_comparison(count: int, rounds: int = 5) -> None:
    """CPU of letters/qr.py against segno, per code and per letter of a print batch, in this process."""
    from letters import qr, slots
    from letters.printing import build_print_batch

    letters = synthetic_letters(count)
    urls = [letter.qr_url for letter in letters]
    encoders = {"letters/qr.py": qr.dark_runs, "segno": _segno_dark_runs}
    if any(_segno_dark_runs(url) != qr.dark_runs(url) for url in urls[:100]):
        raise SystemExit("the two encoders disagree: compare nothing")
    build_print_batch(letters)  # lays out the variants and warms the caches: not measured
    per_code: dict[str, list[float]] = {name: [] for name in encoders}
    per_letter: dict[str, list[float]] = {name: [] for name in encoders}
    real = qr.dark_runs
    try:
        for _ in range(rounds):  # alternated, so a change of load on the machine hits both
            for name, encode in encoders.items():
                cpu = time.process_time()
                for url in urls:
                    encode(url)
                per_code[name].append((time.process_time() - cpu) / count * 1000)
                qr.dark_runs = encode  # what letters.slots.qr_modules calls
                slots.qr_modules.cache_clear()
                cpu = time.process_time()
                build_print_batch(letters)
                per_letter[name].append((time.process_time() - cpu) / count * 1000)
    finally:
        qr.dark_runs = real
    code = {name: statistics.median(values) for name, values in per_code.items()}
    letter = {name: statistics.median(values) for name, values in per_letter.items()}
    print(f"QR, {count} distinct status URLs, median of {rounds} rounds, CPU time (load {os.getloadavg()[0]:.2f}):")
    for name in encoders:
        print(f"  {name:14} {code[name]:.3f} ms per code, print batch {letter[name]:.3f} ms per letter")
    saved = letter["segno"] - letter["letters/qr.py"]
    print(
        f"  segno / qr.py per code: {code['segno'] / code['letters/qr.py']:.1f}x; qr.py saves {saved:.3f} ms "
        f"of {letter['segno']:.3f} ms per letter ({saved / letter['segno']:.0%})"
    )


def _pool(workers: int):
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_setup)
    pool.map(_worker_ready, range(workers), chunksize=1)
    return pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--plain", type=int, default=60, help="letters rendered by the plain path")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--qr", action="store_true", help="only compare letters/qr.py with segno")
    args = parser.parse_args()
    _setup()
    if args.qr:
        qr_comparison(args.letters)
        return
    from django.conf import settings

    # measure the layouts too: start from an empty variant cache (the embedded shape's private storage)
    cache = Path(settings.VAR_DIR) / settings.LETTERS_VARIANT_CACHE_PREFIX
    if cache.exists():
        shutil.rmtree(cache)
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), cpus: {os.cpu_count()}")

    with _pool(args.workers) as pool:
        started = time.perf_counter()
        plain_results = pool.map(_plain_letter, range(args.plain), chunksize=1)
        plain_rate = args.plain / (time.perf_counter() - started)
    sizes = [size for size, _cpu in plain_results]
    plain_cpu = sum(cpu for _size, cpu in plain_results) / args.plain * 1000
    print(
        f"plain WeasyPrint, each letter: {plain_rate:7.1f} letters/s ({args.plain} letters, {args.workers} processes)"
    )

    bounds = [
        (s, min(s + args.batch_size, args.letters), args.letters) for s in range(0, args.letters, args.batch_size)
    ]
    with _pool(args.workers) as pool:
        started = time.perf_counter()
        results = pool.map(_fast_batch, bounds, chunksize=1)
        fast_seconds = time.perf_counter() - started
    fast_rate = args.letters / fast_seconds
    pages = sum(r[2] for r in results)
    print(
        f"fast path into print batches: {fast_rate:7.1f} letters/s ({args.letters} letters, {len(bounds)} batches "
        f"of ≤{args.batch_size}, {pages} pages, {args.workers} processes)"
    )
    print(f"ratio fast / plain: {fast_rate / plain_rate:.1f}x   (targets: ≥ 137 letters/s and ≥ 7x)")
    fast_cpu = sum(r[4] for r in results) / args.letters * 1000
    print(
        f"CPU per letter: fast {fast_cpu:.2f} ms, plain {plain_cpu:.0f} ms ({plain_cpu / fast_cpu:.0f}x); "
        f"on {args.workers} idle cores that is ≈ {args.workers * 1000 / fast_cpu:.0f} vs "
        f"{args.workers * 1000 / plain_cpu:.1f} letters/s"
    )
    by_worker: dict[int, list[float]] = {}
    for pid, _n, _pages, rss, _cpu in results:
        by_worker.setdefault(pid, []).append(rss)
    for pid, series in by_worker.items():
        print(f"worker {pid} RSS after each batch (MB): " + " ".join(f"{v:.0f}" for v in series))

    from letters.render import render_letter_pdf
    from letters.variants import _cached_variant

    letters = synthetic_letters(200, seed=11)
    started = time.perf_counter()
    render_letter_pdf(dataclasses.replace(letters[0], lab_name="Warm-up"))  # a fresh web process: fonts, CSS
    first = (time.perf_counter() - started) * 1000
    settings.LETTERS_VARIANT_CACHE_PREFIX = ""  # a variant never laid out before (not in the shared cache either)
    _cached_variant.cache_clear()
    started = time.perf_counter()
    render_letter_pdf(letters[0])
    cold = (time.perf_counter() - started) * 1000
    warm = []
    for letter in letters[1:40]:
        letter = dataclasses.replace(letters[0], reference=letter.reference, status_code=letter.status_code)
        started = time.perf_counter()
        render_letter_pdf(letter)
        warm.append((time.perf_counter() - started) * 1000)
    print(
        f"on-demand letter: {statistics.median(warm):.0f} ms median when its variant is cached (disk or memory), "
        f"{cold:.0f} ms when it must be laid out, {first:.0f} ms as a fresh process's first letter"
    )
    print(f"plain sizes: ~{statistics.mean(sizes) / 1024:.0f} KiB/letter; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
