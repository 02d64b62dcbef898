"""The synthetic leak generator: deterministic, shaped like the real file, and its truth matches the file."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.core.validators import validate_email
from stdnum.fr import nir as stdnum_nir

from patients.synthetic import HEADER, leak_generate, nir_key, truth_path

ROWS = 20_000

# The shared vocabulary of the contract, written out again here so that the test does not trust the generator.
VOCABULARY = {
    "pregnancy": ["Grossesse 12 SA", "patiente enceinte", "suivi de grossesse"],
    "hiv": ["VIH positif", "séropositive, sous traitement", "HIV+"],
    "cancer": ["cancer du sein, chimiothérapie en cours", "tumeur - suivi oncologie"],
    "disability": ["patient sourd, prévenir par SMS", "malentendante", "aveugle"],
    "mental_health": ["suivi psychiatrique", "dépression sévère"],
    "genetic": ["mucoviscidose (maladie génétique)", "drépanocytose"],
    "addiction": ["sevrage alcoolique", "toxicomanie, traitement de substitution"],
    "other_medical": ["à jeun", "prélèvement difficile", "sous anticoagulants"],
}
PHRASE_CLASS = {phrase.lower(): cls for cls, phrases in VOCABULARY.items() for phrase in phrases}


@pytest.fixture(scope="module")
def leak(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("leak") / "leak.csv"
    truth = leak_generate(path=path, rows=ROWS, labs=27, seed=42)
    return path, truth


def read_records(path: Path, *, encoding: str = "utf-8", delimiter: str = ";") -> tuple[list[str], list[list[str]]]:
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader)
        return header, list(reader)


def name_key(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z]", "", ascii_text.upper())


def date_key(text: str) -> str:
    parts = re.split(r"[/-]", text.strip())
    if len(parts) != 3:
        return text
    day, month, year = (parts[2], parts[1], parts[0]) if len(parts[0]) == 4 else parts
    return f"{int(day):02d}{int(month):02d}{year[-2:]}"


def email_ok(text: str) -> bool:
    try:
        validate_email(text.strip().lower())
    except ValidationError:
        return False
    return True


def recompute_truth(header: list[str], records: list[list[str]]) -> dict:
    """A straightforward importer: reject, key persons per laboratory, aggregate what was exposed."""
    col = {name: i for i, name in enumerate(header)}
    rejected = 0
    patients: dict[tuple[str, str], dict] = defaultdict(
        lambda: {"email": False, "nir": False, "pwd": False, "cls": set()}
    )
    for row in records:
        if len(row) != len(header) or not row[col["CODE_LABO"]] or not (row[col["NOM"]] or row[col["NUM_SECU"]]):
            rejected += 1
            continue
        nir = row[col["NUM_SECU"]].replace(" ", "").replace(".", "").upper()
        birth = date_key(row[col["DATE_NAISSANCE"]])
        if nir:
            person = f"nir:{nir}|{birth}"
        else:
            person = f"name:{name_key(row[col['NOM']])}|{name_key(row[col['PRENOM']])}|{birth}"
        patient = patients[(row[col["CODE_LABO"]], person)]
        patient["email"] |= bool(row[col["EMAIL"]]) and email_ok(row[col["EMAIL"]])
        patient["nir"] |= bool(nir)
        patient["pwd"] |= bool(row[col["MDP_PORTAIL"]])
        for column in ("COMMENTAIRE", "COMMENTAIRE_MEDICAL"):
            for line in row[col[column]].splitlines():
                if line.strip():
                    patient["cls"].add(PHRASE_CLASS[line.strip().lower()])
    by_lab = Counter(lab for lab, _ in patients)
    persons = {person for _, person in patients}
    sensitive = Counter(cls for patient in patients.values() for cls in patient["cls"])
    return {
        "rows": len(records),
        "rejected": rejected,
        "accepted": len(records) - rejected,
        "patients": len(patients),
        "patients_by_lab": dict(sorted(by_lab.items())),
        "persons": len(persons),
        "laboratories": len(by_lab),
        "sensitive_patients": {cls: sensitive[cls] for cls in VOCABULARY},
        "patients_with_email": sum(p["email"] for p in patients.values()),
        "patients_with_nir_exposed": sum(p["nir"] for p in patients.values()),
        "patients_with_password_exposed": sum(p["pwd"] for p in patients.values()),
    }


def test_the_truth_sidecar_matches_what_a_straightforward_parser_finds_in_the_file(leak):
    # given a generated leak and its sidecar
    path, truth = leak
    sidecar = json.loads(truth_path(path).read_text(encoding="utf-8"))
    # when the file is parsed independently
    header, records = read_records(path)
    recomputed = recompute_truth(header, records)
    # then every figure of the sidecar is what the file holds
    assert header == HEADER
    assert {key: sidecar[key] for key in recomputed} == recomputed
    assert sidecar["seed"] == 42 and sidecar["shape"] == "real"
    assert {key: truth[key] for key in sidecar} == sidecar


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    # given three generations, two with the same seed
    paths = [tmp_path / f"{name}.csv" for name in ("a", "b", "c")]
    # when they are written
    truths = [leak_generate(path=p, rows=3000, labs=5, seed=s) for p, s in zip(paths, (1, 1, 2), strict=True)]
    # then the same seed gives identical files and truths, another seed a different file
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert truth_path(paths[0]).read_bytes() == truth_path(paths[1]).read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    assert truths[0]["rows"] == truths[2]["rows"] == 3000


def test_proportions_follow_the_published_analyses_of_the_real_file(leak):
    # given 20,000 generated records
    path, truth = leak
    header, records = read_records(path)
    col = {name: i for i, name in enumerate(header)}
    rows = [r for r in records if len(r) == len(header)]

    def share(predicate) -> float:
        return sum(1 for r in rows if predicate(r)) / len(rows)

    # then the shares are those of the real file, within tolerance
    assert 0.99 <= share(lambda r: r[col["NUM_SECU"]]) <= 1.0
    assert 0.50 <= share(lambda r: r[col["TEL_FIXE"]]) <= 0.60
    assert 0.27 <= share(lambda r: r[col["TEL_PORTABLE"]]) <= 0.37
    assert 0.50 <= share(lambda r: r[col["GROUPE_SANGUIN"]]) <= 0.60
    assert 0.02 <= share(lambda r: r[col["MDP_PORTAIL"]]) <= 0.045
    assert share(lambda r: r[col["MEDECIN_PRESCRIPTEUR"]]) >= 0.97
    assert 0.94 <= share(lambda r: r[col["NOM"]]) <= 0.99
    assert 0.51 <= share(lambda r: r[col["CIVILITE"]] in ("Mme", "Mlle")) <= 0.59
    assert 0.36 <= share(lambda r: r[col["CIVILITE"]] == "M.") <= 0.44
    assert 0.02 <= share(lambda r: r[col["CIVILITE"]] == "Enfant") <= 0.04
    assert 0 < share(lambda r: r[col["CIVILITE"]] == "Bébé") <= 0.005
    children = [r for r in rows if r[col["CIVILITE"]] in ("Enfant", "Bébé")]
    assert all(
        date_key(r[col["DATE_NAISSANCE"]])[-2:] in {f"{y % 100:02d}" for y in range(2002, 2021)} for r in children
    )
    assert 0.0 < share(lambda r: r[col["COMMENTAIRE"]] or r[col["COMMENTAIRE_MEDICAL"]]) <= 0.06
    assert 0.08 <= truth["patients_with_email"] / truth["patients"] <= 0.14
    # about one row per person, as in the real file (491,840 lines for about 491,840 people)
    assert 1.0 < truth["accepted"] / truth["patients"] <= 1.03
    assert 0.97 <= truth["persons"] / truth["patients"] < 1.0
    assert 0.0005 <= truth["rejected"] / truth["rows"] <= 0.005
    assert truth["laboratories"] == 27
    assert {r[col["CP"]][:2] for r in rows} <= {"22", "27", "35", "41", "45", "56"}
    assert {re.search(r"(\d{4})|(\d{2})$", r[col["DATE_PRELEVEMENT"]]).group(0)[-2:] for r in rows} == {
        "15",
        "16",
        "17",
        "18",
        "19",
        "20",
    }


def test_nirs_carry_valid_keys_including_corsica_with_a_few_wrong_ones(leak):
    # given the NIRs of the file, in compact form
    path, _ = leak
    header, records = read_records(path)
    col = {name: i for i, name in enumerate(header)}
    nirs = {r[col["NUM_SECU"]].replace(" ", "").replace(".", "") for r in records if len(r) == len(header)} - {""}
    # then nearly all are valid for python-stdnum, Corsica is there, and a few keys are wrong
    valid = [n for n in nirs if stdnum_nir.is_valid(n)]
    assert len(valid) / len(nirs) >= 0.99
    assert len(valid) < len(nirs)
    assert any(n[5:7] in ("2A", "2B") for n in valid)
    assert nir_key("253072A073004") == stdnum_nir.calc_check_digits("253072A073004") == "43"
    # and the same NIR is written with spaces or dots on some rows
    assert any(" " in r[col["NUM_SECU"]] for r in records) and any("." in r[col["NUM_SECU"]] for r in records)


def test_some_persons_are_patients_of_two_laboratories(leak):
    # given the accepted rows with a NIR
    path, _ = leak
    header, records = read_records(path)
    col = {name: i for i, name in enumerate(header)}
    labs_of = defaultdict(set)
    for r in records:
        if len(r) == len(header) and r[col["NUM_SECU"]] and r[col["CODE_LABO"]]:
            labs_of[r[col["NUM_SECU"]].replace(" ", "").replace(".", "")].add(r[col["CODE_LABO"]])
    # then some persons appear at two laboratories
    assert sum(1 for labs in labs_of.values() if len(labs) > 1) > 10


def test_multi_line_and_delimiter_holding_fields_parse_back_as_one_record(leak):
    # given the file read as CSV records
    path, _ = leak
    header, records = read_records(path)
    col = {name: i for i, name in enumerate(header)}
    whole = [r for r in records if len(r) == len(header)]
    # then quoted fields hold line breaks and delimiters without splitting the record
    assert any("\n" in r[col["ADRESSE1"]] for r in whole)
    assert any("\n" in (r[col["COMMENTAIRE"]] + r[col["COMMENTAIRE_MEDICAL"]]) for r in whole)
    assert any(";" in r[col["ADRESSE2"]] for r in whole)
    assert path.read_text(encoding="utf-8").count("\n") > len(records) + 1


def test_broken_records_are_of_the_three_contract_kinds_and_counted_in_the_truth(leak):
    # given the records a correct importer rejects
    path, truth = leak
    header, records = read_records(path)
    col = {name: i for i, name in enumerate(header)}
    wrong_count = [r for r in records if len(r) != len(header)]
    whole = [r for r in records if len(r) == len(header)]
    no_lab = [r for r in whole if not r[col["CODE_LABO"]]]
    no_identity = [r for r in whole if not r[col["NOM"]] and not r[col["NUM_SECU"]]]
    # then each kind is present and together they are the truth's rejected count
    assert wrong_count and no_lab and no_identity
    assert all(len(r) == len(header) + 1 for r in wrong_count)
    assert len(wrong_count) + len(no_lab) + len(no_identity) == truth["rejected"]


def test_cp1252_and_comma_delimited_files_hold_the_same_records_as_the_utf8_one(tmp_path):
    # given the same seed written in UTF-8 with ";" and in cp1252 with ","
    utf8, legacy = tmp_path / "utf8.csv", tmp_path / "legacy.csv"
    truth_utf8 = leak_generate(path=utf8, rows=4000, labs=6, seed=9)
    truth_legacy = leak_generate(path=legacy, rows=4000, labs=6, seed=9, encoding="cp1252", delimiter=",")
    # when both are decoded and parsed
    raw = legacy.read_bytes()
    # then the records are identical, accented names survive, and the legacy file is not UTF-8
    assert read_records(utf8) == read_records(legacy, encoding="cp1252", delimiter=",")
    assert "é".encode("cp1252") in raw and b"\r\n" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert {k: v for k, v in truth_utf8.items() if k != "seconds"} == {
        k: v for k, v in truth_legacy.items() if k != "seconds"
    }


def test_persons_without_nir_are_unique_by_names_and_birth_date(leak):
    # given persons without a NIR, keyed as the importer keys them
    path, _ = leak
    header, records = read_records(path)
    col = {name: i for i, name in enumerate(header)}
    per_key = defaultdict(set)
    for r in records:
        if len(r) == len(header) and not r[col["NUM_SECU"]] and r[col["NOM"]]:
            key = (
                r[col["CODE_LABO"]],
                name_key(r[col["NOM"]]),
                name_key(r[col["PRENOM"]]),
                date_key(r[col["DATE_NAISSANCE"]]),
            )
            per_key[key].add((r[col["CIVILITE"]], r[col["NOM"]], r[col["PRENOM"]], r[col["ADRESSE1"]]))
    # then there are some, and one key never covers two different persons
    assert per_key
    assert all(len(persons) == 1 for persons in per_key.values())


def test_generate_leak_command_writes_the_file_and_prints_its_truth_as_json(tmp_path):
    # given an output path
    out = tmp_path / "demo.csv"
    stdout = io.StringIO()
    # when the command runs with --json
    call_command("generate_leak", str(out), "--rows", "500", "--labs", "3", "--seed", "5", "--json", stdout=stdout)
    # then it printed the truth that it also wrote beside the file
    printed = json.loads(stdout.getvalue())
    assert printed["rows"] == 500 and printed["laboratories"] == 3
    assert json.loads(truth_path(out).read_text(encoding="utf-8")) == {
        k: v for k, v in printed.items() if k != "seconds"
    }
    assert len(read_records(out)[1]) == 500


def test_generate_leak_command_refuses_bad_arguments_with_a_clear_message(tmp_path):
    # when the command gets a negative row count or an unwritable path
    with pytest.raises(CommandError, match="--rows"):
        call_command("generate_leak", str(tmp_path / "x.csv"), "--rows", "-1")
    with pytest.raises(CommandError, match="impossible d'écrire"):
        call_command("generate_leak", str(tmp_path / "missing" / "x.csv"), "--rows", "10")


def test_the_legacy_shape_keeps_about_two_and_a_half_rows_per_person_with_an_exact_truth(tmp_path):
    # given the same seed and size in both shapes
    real, legacy = tmp_path / "real.csv", tmp_path / "legacy.csv"
    truth_real = leak_generate(path=real, rows=6000, labs=6, seed=3)
    truth_legacy = leak_generate(path=legacy, rows=6000, labs=6, seed=3, shape="legacy")
    # when the legacy file is parsed independently
    header, records = read_records(legacy)
    recomputed = recompute_truth(header, records)
    # then its truth is exact, its persons have 1 to 6 rows (about 2.5), and the real shape about one
    assert {key: truth_legacy[key] for key in recomputed} == recomputed
    assert truth_legacy["shape"] == "legacy" and truth_real["shape"] == "real"
    assert 2.2 <= truth_legacy["accepted"] / truth_legacy["patients"] <= 2.8
    assert truth_real["patients"] > 2 * truth_legacy["patients"]


def test_generate_leak_command_takes_a_shape_and_refuses_an_unknown_one(tmp_path):
    # when the command writes the legacy shape, then is given a shape it does not know
    stdout = io.StringIO()
    call_command("generate_leak", str(tmp_path / "l.csv"), "--rows", "300", "--labs", "2", "--shape", "legacy",
                 "--json", stdout=stdout)  # fmt: skip
    # then the truth says which shape it holds, and the unknown shape is refused with the choices
    assert json.loads(stdout.getvalue())["shape"] == "legacy"
    with pytest.raises(CommandError, match="--shape"):
        call_command("generate_leak", str(tmp_path / "x.csv"), "--rows", "10", "--shape", "round")
