"""The Art. 33(5) register: every breach × laboratory, notified or not; a landscape PDF with every column on the
page; CSV/XLSX with French headers and a French field picker; linked from the case-file list."""

import csv
import io
import re
import subprocess

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from labs.models import BreachLaboratory
from labs.register import BreachRegisterResource
from labs.selectors import REGISTER_COLUMNS, register_rows
from labs.services import authority_notification_add, case_file_decide, cnil_filing_record
from labs.sheets import REGISTER_PDF_GROUPS, register_column_spans_mm, register_pdf
from tests.factories import BreachFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo_a_client(client, login_verified, dpo_lab_a):
    return login_verified(client, dpo_lab_a)


@pytest.fixture
def register_world(dpo_lab_a, lab_a):
    """A's two case files: one notified (initial with its reference, a complement), one decided not to notify."""
    notified = complete_case_file(lab_a, breach=BreachFactory(title="Fuite du logiciel de laboratoire"))
    notified.minors_estimate, notified.others_description, notified.others_estimate = 80, "médecins prescripteurs", 40
    notified.save()
    authority_notification_add(
        case_file=notified, authority="ars", notified_at=timezone.now(), reference="ARS-BZH-12", by=dpo_lab_a
    )
    cnil_filing_record(
        case_file=notified, submitted_at=timezone.now() - timezone.timedelta(hours=1), by=dpo_lab_a,
        cnil_reference="CNIL-2026-004217",
    )  # fmt: skip
    cnil_filing_record(case_file=notified, submitted_at=timezone.now(), by=dpo_lab_a)
    quiet = BreachLaboratory.objects.create(
        breach=BreachFactory(title="Courriel mal adressé"), laboratory=lab_a, aware_at=timezone.now()
    )
    case_file_decide(
        case_file=quiet, decision="not_notify", reason="Un seul destinataire, de confiance, a supprimé le courriel.",
        by=dpo_lab_a,
    )  # fmt: skip
    return notified, quiet


def _squash(text: str) -> str:
    """Text without whitespace nor hyphens: a value wrapped inside its column reads back as one (pdftotext joins
    a line ending with "-" to the next one without it)."""
    return re.sub(r"[\s\-]+", "", text)


def test_the_register_pdf_is_landscape_with_every_column_header_and_value_on_the_page(
    dpo_lab_a, register_world, tmp_path
):
    # given the register's rows (a notified case file and one not notified)
    rows = register_rows(user=dpo_lab_a)
    assert len(rows) == 2
    # when it is printed
    path = tmp_path / "registre.pdf"
    path.write_bytes(register_pdf(rows))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    # then the page is landscape
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert width > height
    # and every column header can be read back
    squashed = _squash(text)
    missing_headers = [str(label) for _key, label in REGISTER_COLUMNS if _squash(str(label)) not in squashed]
    assert missing_headers == []
    # and every value of every row, read back from inside its own column's span on the page (none cut off)
    points = 72 / 25.4
    misplaced = []
    for (keys, _width), (left, right) in zip(REGISTER_PDF_GROUPS, register_column_spans_mm(), strict=True):
        column = subprocess.run(
            ["pdftotext", "-r", "72", "-x", str(int(left * points)), "-y", "0", "-W",
             str(int((right - left) * points) + 1), "-H", str(int(height)), str(path), "-"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for row in rows:
            for key in keys:
                value = row[key]
                if value not in ("", None) and _squash(str(value)) not in _squash(column):
                    misplaced.append((key, value))
    assert misplaced == []
    # the four columns the first version cut off are among them, with their values
    for value in ("oui : risque élevé", "CNIL-2026-004217", "aucune", "ne pas notifier (risque improbable)"):
        assert _squash(value) in squashed
    assert len(re.findall(r"page \d+/\d+", text)) == 1  # two case files: one page


def test_the_register_csv_has_french_headers_and_every_case_file_notified_or_not(dpo_a_client, register_world):
    # when the DPO exports the register as CSV with every column
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_export"),
        {"format": "0", "resource": "0", **{f"breachregisterresource_{key}": "on" for key, _ in REGISTER_COLUMNS}},
    )
    # then the headers are the French column names, and both case files are there
    assert response.status_code == 200
    assert "registre-violations-" in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == [str(label) for _key, label in REGISTER_COLUMNS]
    assert "violation" in table[0] and "autres autorités" in table[0] and "aware_at" not in table[0]
    by_breach = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert by_breach["Courriel mal adressé"]["décision de notification"] == "ne pas notifier (risque improbable)"
    assert by_breach["Courriel mal adressé"]["décidé par"] == "dpo-a"
    assert "réf. CNIL-2026-004217" in by_breach["Fuite du logiciel de laboratoire"]["notifications (références)"]
    assert "ARS-BZH-12" in by_breach["Fuite du logiciel de laboratoire"]["autres autorités"]
    assert "dont mineurs ~80" in by_breach["Fuite du logiciel de laboratoire"]["dont mineurs ; autres personnes"]


def test_the_register_xlsx_has_french_headers(dpo_a_client, register_world):
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_export"),
        {"format": "1", "resource": "0", **{f"breachregisterresource_{key}": "on" for key, _ in REGISTER_COLUMNS}},
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == [str(label) for _key, label in REGISTER_COLUMNS]
    assert sheet.max_row == 3


def test_the_export_field_picker_offers_the_french_column_names(dpo_a_client, register_world):
    # when the DPO opens the register's export page
    page = dpo_a_client.get(reverse("admin:labs_breachlaboratory_export")).content.decode()
    # then each column is offered under its French name, not the attribute's English title
    labels = re.findall(r'<label for="id_breachregisterresource_\w+"[^>]*>([^<]*)</label>', page)
    assert labels == [str(label) for _key, label in REGISTER_COLUMNS]
    assert "Aware At" not in page and "Decided By" not in page


def test_the_register_resource_still_builds_its_french_columns_after_an_upgrade():
    # The picker relabels the fields import-export names `<resource>_<field>`: fails loudly if that changes.
    from import_export.formats.base_formats import CSV

    from labs.register import RegisterExportForm

    form = RegisterExportForm([CSV], [BreachRegisterResource])
    assert form.fields["breachregisterresource_aware_at"].label == "connaissance (Paris)"


def test_the_case_file_list_links_to_the_register_pdf_and_csv_for_a_dpo(dpo_a_client, register_world):
    # given a DPO (who may not add case files: the toolbar used to show only with that permission)
    page = dpo_a_client.get(reverse("admin:labs_breachlaboratory_changelist")).content.decode()
    # then the list shows the register's PDF and CSV/XLSX links
    assert reverse("admin:labs_breachlaboratory_register_pdf") in page
    assert reverse("admin:labs_breachlaboratory_export") in page
    pdf = dpo_a_client.get(reverse("admin:labs_breachlaboratory_register_pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_cnil_liaison_sees_the_register_links_too_but_no_add_button(client, login_verified, cnil_liaison):
    login_verified(client, cnil_liaison)
    page = client.get(reverse("admin:labs_breachlaboratory_changelist")).content.decode()
    assert reverse("admin:labs_breachlaboratory_register_pdf") in page
    assert reverse("admin:labs_breachlaboratory_add") not in page
