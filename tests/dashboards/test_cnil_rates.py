"""The CNIL liaison's page: rates with their denominators, « aucune campagne », hours to the first filing,
totals a person can read, and no masked laboratory given away by subtraction."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from dashboards import cnil, masking
from labs.models import BreachLaboratory, CnilFiling
from notifier.models import Campaign, Notification
from tests.access_fixtures import login_verified
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

S = Notification.Status
POST, EMAIL = Notification.Channel.POST, Notification.Channel.EMAIL
AWARE = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _no_cached_counts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)
    yield
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)


def _campaign(breach, lab, author, statuses):
    """One patient per status, one postal letter each."""
    campaign = Campaign.objects.create(
        breach=breach, laboratory=lab, name=f"Information {lab.code}", created_by=author, status="running"
    )
    patients = PatientFactory.create_batch(len(statuses), breach=breach, laboratory=lab)
    Notification.objects.bulk_create(
        Notification(
            campaign=campaign,
            patient=patient,
            channel=POST,
            status=status,
            reference=f"{lab.code}-{i}",
            code_digest=f"{lab.pk:08x}{i:056x}",
            sent_at=AWARE if status != S.PENDING else None,
        )  # fmt: skip
        for i, (patient, status) in enumerate(zip(patients, statuses, strict=True))
    )
    return campaign


def _filed(cf, hours):
    submitted = cf.aware_at + dt.timedelta(hours=hours)
    CnilFiling.objects.create(
        case_file=cf, sequence=1, kind="initial", submitted_at=submitted, late=hours > 72, snapshot={},
        delay_reasons="retard" if hours > 72 else "",
    )  # fmt: skip
    BreachLaboratory.objects.filter(pk=cf.pk).update(first_filed_at=submitted, filed_late=hours > 72)


@pytest.fixture
def rates_world(db):
    """R: 60 letters (12 returned, 40 delivered, 8 not posted yet); S: 20 letters (3 returned);
    T: 15 patients and no campaign; U: a campaign of 5 letters; V: decided not to notify, no patient."""
    breach = BreachFactory(slug="fuite-taux", title="Fuite du logiciel", aware_at=AWARE)
    author = get_user_model().objects.create_user("auteur", password="x" * 16, is_staff=True)
    labs = {code: LaboratoryFactory(code=code, name=f"Laboratoire {code}") for code in "RSTUV"}
    cases = {code: BreachLaboratory.objects.create(breach=breach, laboratory=lab, aware_at=AWARE)
             for code, lab in labs.items()}  # fmt: skip
    _filed(cases["R"], 40)
    _filed(cases["S"], 80)
    BreachLaboratory.objects.filter(pk=cases["V"].pk).update(cnil_decision=BreachLaboratory.Decision.NOT_NOTIFY)
    _campaign(breach, labs["R"], author, [S.RETURNED] * 12 + [S.DELIVERED] * 40 + [S.PENDING] * 8)
    _campaign(breach, labs["S"], author, [S.RETURNED] * 3 + [S.DELIVERED] * 17)
    PatientFactory.create_batch(15, breach=breach, laboratory=labs["T"])
    _campaign(breach, labs["U"], author, [S.DELIVERED] * 4 + [S.RETURNED])
    return {"breach": breach, "labs": labs, "cases": cases}


def _cells(client, user):
    login_verified(client, user)
    response = client.get(reverse("dashboards:cnil"))
    assert response.status_code == 200
    return response, {item["row"].laboratory.code: item["cells"] for item in response.context["table"]}


# --- rates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "shown"),
    [
        (31, 258, "12 % (31 / 258)"),
        (12, 52, "23 % (12 / 52)"),
        (3, 258, "< 4 % (< 10 / 258)"),  # a percentage of a known total would give the count back
        (0, 258, "< 4 % (< 10 / 258)"),
        (255, 258, "> 96 % (> 248 / 258)"),  # the few not returned are a small count too
        (258, 258, "> 96 % (> 248 / 258)"),
        (1234, 20000, "6 % (1\u202f234 / 20\u202f000)"),
        (3, 9, None),  # fewer than ten letters: no rate at all
    ],
)
def test_a_rate_shows_its_denominator_and_never_a_count_under_ten(numerator, denominator, shown):
    assert masking.masked_rate(numerator, denominator) == shown


def test_each_laboratory_shows_its_returned_and_unreachable_rates_with_their_denominators(
    client, rates_world, cnil_liaison
):
    # given / when
    _response, cells = _cells(client, cnil_liaison)
    # then returned letters are counted over the letters posted (not the 8 still waiting), unreachable
    # patients over the campaign's patients
    assert cells["R"]["returned_rate"] == "23 % (12 / 52)"
    assert cells["R"]["unreachable_rate"] == "20 % (12 / 60)"
    assert cells["S"]["returned_rate"] == "< 46 % (< 10 / 20)"
    assert cells["U"]["returned_rate"] == "< 10 lettres postées"
    assert cells["U"]["unreachable_rate"] == "< 10 patients ciblés"


def test_a_laboratory_without_campaign_says_so_instead_of_under_ten_letters(client, rates_world, cnil_liaison):
    # given T, 15 patients and no campaign
    response, cells = _cells(client, cnil_liaison)
    # then its campaign cells say « aucune campagne », not « < 10 envois »
    assert cells["T"]["progress"] == "aucune campagne"
    assert cells["T"]["returned_rate"] == "aucune campagne"
    assert cells["T"]["unreachable_rate"] == "aucune campagne"
    assert cells["T"]["delivered"] == "—"
    assert cells["U"]["progress"] == "< 10 envois"  # a campaign, but too small to give a percentage
    assert "aucune campagne" in response.content.decode()


def test_hours_from_awareness_to_the_first_filing_are_shown_per_laboratory(client, rates_world, cnil_liaison):
    # given R filed 40 h after awareness, S 80 h after, T not yet, V decided not to notify
    _response, cells = _cells(client, cnil_liaison)
    # then
    assert cells["R"]["hours_to_filing"] == "40 h"
    assert cells["S"]["hours_to_filing"] == "80 h"
    elapsed = int((timezone.now() - AWARE).total_seconds() // 3600)
    assert cells["T"]["hours_to_filing"] == f"pas encore déposée ({masking.grouped(elapsed)} h écoulées)"
    assert cells["V"]["hours_to_filing"] == "non requise"


def test_the_liaison_can_sort_by_hours_to_the_first_filing(rates_world):
    rows = cnil.cnil_rows()
    codes = [r.laboratory.code for r in cnil.cnil_rows_sorted(rows, key="delai", descending=False)]
    assert codes[:2] == ["R", "S"]  # filed, quickest first; then those not filed


def test_the_export_carries_the_rates_and_hours_as_on_the_page(client, rates_world, cnil_liaison):
    login_verified(client, cnil_liaison)
    rows = {
        r["code laboratoire"]: r
        for r in csv.DictReader(io.StringIO(client.get(reverse("dashboards:cnil_export")).content.decode()))
    }
    assert rows["R"]["retours NPAI (taux)"] == "23 % (12 / 52)"
    assert rows["R"]["patients injoignables (taux)"] == "20 % (12 / 60)"
    assert rows["R"]["heures jusqu'à la première notification"] == "40 h"
    assert rows["T"]["progression de la campagne"] == "aucune campagne"


# --- totals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "shown"),
    [
        ([60, 25], "85"),
        ([60, 25, 6], "entre 85 et 94"),  # one masked cell: an exact total would give it back
        ([60, 3, 4], "entre 60 et 78"),  # two: 3 + 4 = 7 < 10, a small count of two laboratories
        ([60, 3, 4, 5], "72"),  # three, together 12: each could still be anything from 0 to 9
        ([60, 9, 9, 9], "entre 60 et 87"),  # 27 = 3 × 9: an exact total would prove each is 9
        ([60, 1, 2, 3], "entre 60 et 87"),
        ([3], "< 10"),
        ([], "0"),
    ],
)
def test_a_total_is_exact_when_no_masked_cell_can_be_recovered_from_it_and_a_readable_range_otherwise(counts, shown):
    assert masking.masked_total(counts) == shown


@pytest.mark.parametrize("visible", [[], [40], [40, 12]])
def test_an_exact_total_never_narrows_what_a_masked_cell_could_be(visible):
    for k in range(1, 5):
        # what one masked cell can be, knowing the sum of the k masked cells (the same for each, by symmetry)
        possible: dict[int, set[int]] = {}
        for cells in itertools.product(range(10), repeat=k):
            possible.setdefault(sum(cells), set()).add(cells[0])
        # given k masked cells summing to each possible value, beside the visible ones
        for masked_sum in possible:
            hidden = [min(9, masked_sum - 9 * i) for i in range(k)]
            hidden = [max(0, n) for n in hidden]
            assert sum(hidden) == masked_sum
            shown = masking.masked_total(visible + hidden)
            if shown.startswith("entre") or shown == masking.MASKED:
                continue
            # when the total is exact, the reader subtracts the visible cells and learns the masked sum
            assert int(shown.replace("\u202f", "")) - sum(visible) == masked_sum
            # then each masked cell could still be anything from 0 to 9, and the group is not a small count
            assert possible[masked_sum] == set(range(10)), (visible, hidden)
            assert masked_sum >= masking.MASK_BELOW


def test_the_breach_totals_read_in_plain_french_and_ignore_laboratories_without_campaign(
    client, rates_world, cnil_liaison
):
    # given patients R 60, S 20, T 15, U 5, V 0 (two masked); returned R 12, S 3, U 1 (T has no campaign)
    response, _cells_ = _cells(client, cnil_liaison)
    summary = response.context["summaries"][0]
    # then the patients total is a range (two masked cells: 5 + 0 is a small count)
    assert summary["patients"] == "entre 95 et 113"
    # and T, known to have sent nothing, does not widen the returned-letters range
    assert summary["returned"] == "entre 12 et 30"
    assert summary["masked_note"]["patients"] == "dont 2 laboratoires sous le seuil de 10"
    body = response.content.decode()
    assert " à " not in summary["returned"] and "entre 12 et 30" in body
    # and the footnote explains the rule
    assert "fourchette" in body and "soustraction" in body


def test_the_cnil_page_draws_the_filing_delays_with_a_text_alternative_and_no_inline_style(
    client, rates_world, cnil_liaison
):
    response, _cells_ = _cells(client, cnil_liaison)
    body = response.content.decode()
    assert body.count('<svg class="chart') >= 2
    # the chart's title reads the same hours as the table, for a screen reader
    assert "Laboratoire R : 40 h" in body and "Laboratoire S : 80 h" in body
    assert "72 h" in body
    assert "style=" not in body and "<script" not in body
