"""Import fuzz: 1,000 mutated leak files through `manage.py import_leak`, seeded, on SQLite.

A small generated leak is mutated (byte flips, truncation, delimiter swaps, encodings, BOMs, extra and
missing columns, huge fields, NUL bytes, corrupted laboratory codes, line-ending changes, binary junk…).
Every run must end as the command promises: exit 0 with read = accepted + rejected, or exit 2 with one
clear line; never a traceback, and never a laboratory the operator did not allow (no phantom laboratory).
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labs.models import Laboratory
from patients.models import ExposedRecord, ImportBatch
from tests.factories import BreachFactory, LaboratoryFactory

pytestmark = pytest.mark.django_db

FILES = 1000
SHARDS = 10  # parametrised so that xdist spreads them; each shard imports FILES // SHARDS files
SEED = 20210223


def _mutate(base: bytes, rng: random.Random) -> bytes:
    """One to three random mutations of `base` (a valid semicolon-separated UTF-8 leak)."""
    data = base
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(MUTATIONS)(data, rng)
    return data


def _flip_bytes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        if buffer:
            buffer[rng.randrange(len(buffer))] = rng.randrange(256)
    return bytes(buffer)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _swap_delimiter(data: bytes, rng: random.Random) -> bytes:
    new = rng.choice([b",", b"\t", b"|", b" ", b'"'])
    if rng.random() < 0.5:  # the whole file, or only its body (header and rows then disagree)
        return data.replace(b";", new)
    header, _, body = data.partition(b"\n")
    return header + b"\n" + body.replace(b";", new)


def _encode(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "replace")
    encoding = rng.choice(["cp1252", "latin-1", "utf-16", "utf-16-le", "utf-8-sig", "mac_roman", "cp850"])
    return text.encode(encoding, "replace")


def _bom(data: bytes, rng: random.Random) -> bytes:
    bom = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"])
    return bom + data


def _extra_column(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for index in rng.sample(range(len(lines)), k=rng.randint(1, len(lines))):
        lines[index] += b";EXTRA" + str(index).encode()
    return b"\n".join(lines)


def _missing_column(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for index in rng.sample(range(len(lines)), k=rng.randint(1, len(lines))):
        cells = lines[index].split(b";")
        if len(cells) > 1:
            del cells[rng.randrange(len(cells))]
        lines[index] = b";".join(cells)
    return b"\n".join(lines)


def _huge_field(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    cells = lines[index].split(b";")
    cells[rng.randrange(len(cells))] = rng.choice([b"A", b'"', b"\xc3\xa9", b";", b"\n"]) * rng.choice(
        [70_000, 140_000, 300_000]
    )
    lines[index] = b";".join(cells)
    return b"\n".join(lines)


def _nul_bytes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        buffer.insert(rng.randrange(len(buffer) + 1), 0)
    return bytes(buffer)


def _lab_code(data: bytes, rng: random.Random) -> bytes:
    """A corrupted laboratory code on some rows (the first column): the phantom-laboratory case."""
    lines = data.split(b"\n")
    for index in range(1, len(lines)):
        if lines[index] and rng.random() < 0.3:
            code = rng.choice([b"LAB0l", b"LA801", b"lab01", b" LAB01 ", b"", b"L" * 80, b"=1+1", b"LAB\xff1"])
            lines[index] = code + lines[index][lines[index].find(b";") :]
    return b"\n".join(lines)


def _line_endings(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\n\n", b"\r\r\n"]))


def _quotes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        buffer.insert(rng.randrange(len(buffer) + 1), ord('"'))
    return bytes(buffer)


def _shuffle_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    rng.shuffle(lines)  # the header may land anywhere
    return b"\n".join(lines)


def _junk(data: bytes, rng: random.Random) -> bytes:
    return rng.choice([b"", b"\n\n", bytes(rng.randrange(256) for _ in range(rng.randint(1, 400))), data[:1]])


def _header_only(data: bytes, rng: random.Random) -> bytes:
    return data.split(b"\n", 1)[0] + rng.choice([b"", b"\n", b"\n\n"])


MUTATIONS = [
    _flip_bytes, _truncate, _swap_delimiter, _encode, _bom, _extra_column, _missing_column, _huge_field,
    _nul_bytes, _lab_code, _line_endings, _quotes, _shuffle_lines, _junk, _header_only,
]  # fmt: skip


@pytest.fixture
def base_leak(tmp_path) -> tuple[bytes, list[str]]:
    """A 25-row generated leak over 3 laboratories, and their codes."""
    path = tmp_path / "base.csv"
    call_command("generate_leak", str(path), "--rows", "25", "--labs", "3", "--seed", "5", "--json",
                 stdout=io.StringIO())  # fmt: skip
    data = path.read_bytes()
    codes = sorted({row[0] for row in csv.reader(io.StringIO(data.decode("utf-8")), delimiter=";")} - {"CODE_LABO"})
    return data, codes


def _run_one(path: Path, slug: str) -> tuple[str, str]:
    """("ok", json summary) / ("bad_input", message) / ("traceback", repr) for one command run."""
    out = io.StringIO()
    try:
        call_command("import_leak", str(path), "--breach", slug, "--json", stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        if exc.returncode == 2:
            return "bad_input", str(exc)
        return "traceback", repr(exc)
    except Exception as exc:  # noqa: BLE001 - that is what the fuzz counts
        return "traceback", f"{type(exc).__name__}: {exc}"[:300]
    return "ok", out.getvalue()


@pytest.mark.parametrize("shard", range(SHARDS))
def test_mutated_leak_files_never_give_a_traceback_and_always_balance(tmp_path, base_leak, shard):
    # given a breach, the base leak's laboratories, and its mutations (seeded: a failure replays)
    data, codes = base_leak
    for code in codes:
        LaboratoryFactory(code=code, name=f"Laboratoire {code}")
    breach = BreachFactory(slug=f"fuzz-{shard}")
    counts = {"ok": 0, "bad_input": 0}
    problems: list[str] = []
    for number in range(shard * FILES // SHARDS, (shard + 1) * FILES // SHARDS):
        rng = random.Random(SEED + number)
        path = tmp_path / f"mutant-{number}.csv"
        path.write_bytes(_mutate(data, rng))
        # when each file is imported
        outcome, detail = _run_one(path, breach.slug)
        # then: exit 0 with balanced accounts, or exit 2 with one clear line; never a traceback
        if outcome == "traceback":
            problems.append(f"file {number}: traceback {detail}")
            continue
        counts[outcome] += 1
        if outcome == "bad_input":
            if not detail.strip() or "\n" in detail.strip() or "Traceback" in detail:
                problems.append(f"file {number}: unclear error {detail!r}")
            continue
        summary = json.loads(detail)
        if summary["rows_read"] != summary["rows_accepted"] + summary["rows_rejected"]:
            problems.append(f"file {number}: accounting {summary['rows_read']} != "
                            f"{summary['rows_accepted']} + {summary['rows_rejected']}")  # fmt: skip
        batch = ImportBatch.objects.get(pk=summary["batch_id"])
        if not summary["already_imported"] and ExposedRecord.objects.filter(batch=batch).count() != batch.rows_accepted:
            problems.append(f"file {number}: stored records differ from the accepted count")
    # and no laboratory was made up from a corrupted code
    phantoms = sorted(set(Laboratory.objects.values_list("code", flat=True)) - set(codes))
    print(f"shard {shard}: {counts['ok']} imported, {counts['bad_input']} refused (exit 2), "
          f"{len(problems)} problems, {len(phantoms)} phantom laboratories")  # fmt: skip
    assert problems == []
    assert phantoms == []
    assert counts["ok"] > 0 and counts["bad_input"] > 0  # both paths were exercised
