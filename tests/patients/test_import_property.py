"""Whatever bytes come in, the importer either refuses the file cleanly or accounts for every record."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.importer import ImportInputError
from patients.mapping import MappingError
from patients.models import ExposedRecord, ImportBatch, ImportRejection, Patient
from patients.services import leak_import
from tests.factories import BreachFactory
from tests.patients.leak_files import leak_text, row

pytestmark = pytest.mark.django_db

_GOOD_LINES = leak_text(
    [
        row(),
        row(NUM_DOSSIER="D2", ADRESSE1="1 rue A\nappartement 3", COMMENTAIRE="VIH positif"),
        row(NOM="Lefèvre", NUM_SECU="", EMAIL="x@example.org"),
    ]
).splitlines(keepends=True)
HEADER_LINE, ROW_LINES = _GOOD_LINES[0], _GOOD_LINES[1:]

_noise = st.text(alphabet=';,\t"\n\r\x00\\ aéZ09/-.@', max_size=60)
_mangled_line = st.one_of(
    st.sampled_from(ROW_LINES),
    st.tuples(st.sampled_from(ROW_LINES), st.integers(0, 200), _noise).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    ),
    st.tuples(st.sampled_from(ROW_LINES), st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
    _noise,
)
_mangled_file = st.tuples(
    st.booleans(), st.lists(_mangled_line, max_size=12), st.sampled_from(["utf-8", "cp1252", "utf-8-sig"])
).map(lambda t: ((HEADER_LINE if t[0] else "") + "".join(t[1])).encode(t[2], "replace"))
_any_file = st.one_of(st.binary(max_size=600), _mangled_file)


def _check_one(tmp_path, breach, content: bytes) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(content)
    try:
        result = leak_import(
            path=path, breach=breach, rejects_path=tmp_path / "rejects.csv", allow_new_laboratories=True
        )
    except (ImportInputError, MappingError):
        assert not ImportBatch.objects.filter(breach=breach, file_name=path.name).exists()
        return
    batch = result.batch
    assert batch.status == "succeeded"
    assert batch.rows_read == batch.rows_accepted + batch.rows_rejected
    if not result.already_imported:
        assert ExposedRecord.objects.filter(batch=batch).count() == batch.rows_accepted
        assert ImportRejection.objects.filter(batch=batch).count() == batch.rows_rejected
    assert not Patient.objects.filter(breach=breach, record_count=0).exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_any_file)
def test_random_bytes_and_mangled_lines_never_crash_and_every_record_is_accounted_for(tmp_path, content):
    # given any content / when imported / then refused cleanly or read = accepted + rejected
    _check_one(tmp_path, BreachFactory(slug="fuzz"), content)


@pytest.mark.integration
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_any_file)
def test_on_postgresql_random_input_never_breaks_the_copy_and_every_record_is_accounted_for(tmp_path, content):
    # given any content / when imported through COPY / then refused cleanly or read = accepted + rejected
    _check_one(tmp_path, BreachFactory(slug="fuzz"), content)
