"""DPO and CNIL-liaison dashboards: scoping, aggregates, "< 10" masking, no names, audited downloads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from dashboards import cnil, masking, stats
from dashboards.tasks import cnil_counts_refresh_task
from labs.audit import AuditEvent
from labs.filing_states import FilingState
from labs.models import BreachLaboratory, CnilFiling
from notifier.models import Campaign, DeliveryEvent, Notification
from notifier.resources import call_centre_dataset
from notifier.selectors import unreachable_patients
from tests.access_fixtures import login_verified
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

S = Notification.Status
POST, EMAIL = Notification.Channel.POST, Notification.Channel.EMAIL
AWARE = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)

# Lab A's campaign, one line per patient: (channel, status, hours after awareness it was sent or None,
# is_fallback, acknowledged on the status page). Patients with two lines have two notifications.
LAB_A_SPEC = [
    [(POST, S.DELIVERED, 20, False, True)],
    [(POST, S.SENT, 20, False, False), (EMAIL, S.DELIVERED, 6, False, True)],
    [(POST, S.SENT, 21, False, False)],
    [(POST, S.RETURNED, 21, False, False), (EMAIL, S.DELIVERED, 50, True, False)],
    [(EMAIL, S.BOUNCED, 6, False, False), (POST, S.RETURNED, 30, True, False)],  # reached on no channel
    [(POST, S.UNREACHABLE, None, False, False)],  # no usable address at launch
    [(EMAIL, S.DELIVERED, 7, False, False)],
    [(EMAIL, S.QUEUED, None, False, False)],
    [(POST, S.PENDING, None, False, False)],
    [(POST, S.DELIVERED, 22, False, True), (EMAIL, S.FAILED, None, False, False)],
    [(POST, S.SENT, 45, False, False)],
    [(POST, S.RETURNED, 23, False, False)],  # returned, no fallback: unreachable
]
LAB_B_SURNAME = "Zorglubovitch"


@pytest.fixture(autouse=True)
def _fast_password_hasher_and_no_cached_counts(settings):
    # The personas get real passwords; the default hasher's cost is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The CNIL counts snapshot lives in the process-wide cache: never let one test read another's.
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)
    yield
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)


def _notify(campaign, patient, channel, status, sent_hours, fallback, acked, n):
    sent_at = AWARE + dt.timedelta(hours=sent_hours) if sent_hours is not None else None
    row = Notification.objects.create(
        campaign=campaign, patient=patient, channel=channel, status=status, reference=f"R{campaign.pk}-{n}",
        code_digest=f"{n:064x}", is_fallback=fallback, sent_at=sent_at,
        final_at=sent_at if status in Notification.TERMINAL else None,
    )  # fmt: skip
    if acked:
        DeliveryEvent.objects.create(
            notification=row, event_type=stats.ACK_EVENT_TYPE, source=DeliveryEvent.Source.STATUS_PAGE,
            at=AWARE + dt.timedelta(days=3),
        )  # fmt: skip
    return row


def _filing(case_file, *, hours_after, late):
    submitted = case_file.aware_at + dt.timedelta(hours=hours_after)
    CnilFiling.objects.create(
        case_file=case_file, sequence=1, kind="initial", submitted_at=submitted, late=late,
        delay_reasons="retard" if late else "", snapshot={},
    )  # fmt: skip
    BreachLaboratory.objects.filter(pk=case_file.pk).update(first_filed_at=submitted, filed_late=late)


@pytest.fixture
def world(lab_a, lab_b):
    """Breach with three laboratories: A (12 patients, campaign), B (3 patients named Zorglubovitch), C (7)."""
    breach = BreachFactory(slug="fuite-dashboards", title="Fuite du logiciel de laboratoire", aware_at=AWARE)
    lab_c = LaboratoryFactory(code="LAB-C", name="Laboratoire C")
    author = get_user_model().objects.create_user("author", password="x" * 16, is_staff=True)
    case_a = BreachLaboratory.objects.create(breach=breach, laboratory=lab_a, aware_at=AWARE, high_risk="yes")
    case_b = BreachLaboratory.objects.create(breach=breach, laboratory=lab_b, aware_at=AWARE)
    BreachLaboratory.objects.create(breach=breach, laboratory=lab_c, aware_at=timezone.now() - dt.timedelta(hours=1))
    _filing(case_a, hours_after=40, late=False)
    _filing(case_b, hours_after=80, late=True)
    CnilFiling.objects.create(
        case_file=case_a, sequence=2, kind="complementary", submitted_at=AWARE + dt.timedelta(days=5), late=False,
        snapshot={},
    )  # fmt: skip

    campaign_a = Campaign.objects.create(
        breach=breach, laboratory=lab_a, name="Information A", created_by=author, status=Campaign.Status.RUNNING
    )
    n = 0
    for lines in LAB_A_SPEC:
        patient = PatientFactory(breach=breach, laboratory=lab_a)
        for line in lines:
            n += 1
            _notify(campaign_a, patient, *line, n)
    campaign_b = Campaign.objects.create(
        breach=breach, laboratory=lab_b, name="Information B", created_by=author, status=Campaign.Status.RUNNING
    )
    for _ in range(3):
        patient = PatientFactory(breach=breach, laboratory=lab_b, last_name=LAB_B_SURNAME, first_name="Ermengarde")
        n += 1
        _notify(campaign_b, patient, POST, S.RETURNED, 30, False, False, n)
    PatientFactory.create_batch(7, breach=breach, laboratory=lab_c, last_name=LAB_B_SURNAME)
    return {"breach": breach, "campaign_a": campaign_a, "campaign_b": campaign_b, "lab_c": lab_c}


def _lines():
    return [line for lines in LAB_A_SPEC for line in lines]


# --- aggregates ---------------------------------------------------------------------------------------------


def test_campaign_stats_match_counts_computed_independently_from_the_dataset(world):
    # given the dataset above; when the stats are computed in the database
    s = stats.campaign_stats(campaigns=[world["campaign_a"]])[world["campaign_a"].pk]
    lines = _lines()

    # then every figure equals the one counted here from the specification
    for channel in (POST, EMAIL):
        for status in S.values:
            expected = sum(1 for ch, st, *_ in lines if ch == channel and st == status)
            assert s.by_channel.get(channel, {}).get(status, 0) == expected
    assert s.patients == len(LAB_A_SPEC)
    assert s.delivered == sum(1 for _, st, *_ in lines if st == S.DELIVERED)
    assert s.bounced == sum(1 for _, st, *_ in lines if st == S.BOUNCED)
    assert s.returned == sum(1 for _, st, *_ in lines if st == S.RETURNED)
    assert s.fallbacks == sum(1 for *_, fb, _ack in lines if fb)
    failed = set(Notification.UNREACHED)
    assert s.unreachable_patients == sum(1 for p in LAB_A_SPEC if all(st in failed for _, st, *_ in p))
    assert s.acknowledged_patients == sum(1 for p in LAB_A_SPEC if any(ack for *_, ack in p))
    hours = sorted(h for _, _, h, *_ in lines if h is not None)
    assert s.first_sent_at == AWARE + dt.timedelta(hours=hours[0])
    k = math.ceil(0.9 * len(lines))
    expected_ninety = AWARE + dt.timedelta(hours=hours[k - 1]) if len(hours) >= k else None
    assert s.ninety_sent_at == expected_ninety
    assert s.progress[-1][1] == len(hours)
    terminal = sum(1 for _, st, *_ in lines if st in Notification.TERMINAL)
    assert s.progress_pct == pytest.approx(100.0 * terminal / len(lines))


def test_ninety_percent_mark_is_the_send_time_of_the_notice_that_crosses_ninety_percent(world, lab_a):
    # given a second campaign where every one of 10 notices is sent, one per hour
    author = get_user_model().objects.get(username="author")
    campaign = Campaign.objects.create(
        breach=world["breach"], laboratory=lab_a, name="Relance", created_by=author, status="completed"
    )
    patients = PatientFactory.create_batch(10, breach=world["breach"], laboratory=lab_a)
    for i, patient in enumerate(patients):
        _notify(campaign, patient, POST, S.SENT, 10 + i, False, False, 1000 + i)
    # when
    s = stats.campaign_stats(campaigns=[campaign])[campaign.pk]
    # then the 9th notice (ceil(0.9 × 10)) marks 90 %, and the chart has one hourly bucket per send
    assert s.ninety_sent_at == AWARE + dt.timedelta(hours=10 + 8)
    assert [total for _, total in s.progress] == list(range(1, 11))


def test_cnil_rows_count_per_laboratory_and_state_the_filing(world, lab_a, lab_b):
    # given / when
    rows = {row.laboratory.code: row for row in cnil.cnil_rows()}
    # then
    assert rows["LAB-A"].patients == len(LAB_A_SPEC)
    assert rows["LAB-B"].patients == 3
    assert rows["LAB-C"].patients == 7
    assert rows["LAB-A"].filing_state == FilingState.ON_TIME
    assert rows["LAB-B"].filing_state == FilingState.LATE
    assert rows["LAB-C"].filing_state == FilingState.PENDING
    assert rows["LAB-A"].complementary_filings == 1
    assert rows["LAB-A"].delivered == sum(1 for _, st, *_ in _lines() if st == S.DELIVERED)
    assert rows["LAB-B"].returned == 3
    assert rows["LAB-B"].unreachable_patients == 3


def test_a_case_file_past_its_deadline_without_filing_is_missing(world):
    # given lab C's awareness moved 100 hours back
    case_c = BreachLaboratory.objects.get(laboratory=world["lab_c"])
    case_c.aware_at = timezone.now() - dt.timedelta(hours=100)
    case_c.save()
    # when / then
    rows = {row.laboratory.code: row for row in cnil.cnil_rows()}
    assert rows["LAB-C"].filing_state == FilingState.MISSING


def test_cnil_rows_take_the_same_number_of_queries_whatever_the_number_of_patients(world, django_assert_num_queries):
    # given the count of queries for the dataset
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        cnil.cnil_rows()
    # when twenty more patients with notifications are added
    author = get_user_model().objects.get(username="author")
    campaign = Campaign.objects.create(
        breach=world["breach"], laboratory=world["lab_c"], name="C", created_by=author, status="running"
    )
    for i, patient in enumerate(PatientFactory.create_batch(20, breach=world["breach"], laboratory=world["lab_c"])):
        _notify(campaign, patient, POST, S.DELIVERED, 5, False, False, 2000 + i)
    # then the aggregation runs exactly as many queries
    with django_assert_num_queries(len(before.captured_queries)):
        cnil.cnil_rows()


def test_cnil_counts_are_a_snapshot_reused_for_a_minute_while_filing_states_stay_live(world, django_assert_num_queries):
    # given a snapshot of the counts
    first = cnil.cnil_counts_cached()
    # when a patient is added and a deadline passes, then the page is read again
    PatientFactory(breach=world["breach"], laboratory=world["lab_c"])
    case_c = BreachLaboratory.objects.get(laboratory=world["lab_c"])
    case_c.aware_at = timezone.now() - dt.timedelta(hours=100)
    case_c.save()
    with django_assert_num_queries(2):  # the case files and their public communications: counts from the cache
        rows = {r.laboratory.code: r for r in cnil.cnil_rows(counts=cnil.cnil_counts_cached())}
    # then the counts are the snapshot's and the filing state is live
    assert rows["LAB-C"].patients == 7 and first.patients == cnil.cnil_counts_cached().patients
    assert rows["LAB-C"].filing_state == FilingState.MISSING
    # and a refresh (what a periodic task would call) counts the new patient
    assert cnil.cnil_counts_cached(refresh=True).patients[(world["breach"].pk, world["lab_c"].pk)] == 8


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "< 10"), (1, "< 10"), (9, "< 10"), (10, "10"), (12345, "12\u202f345")]
)
def test_counts_under_ten_are_masked(count, shown):
    assert masking.masked(count) == shown


def test_breach_summary_does_not_give_a_masked_laboratory_away_by_subtraction(client, world, cnil_liaison):
    # given labs with 12, 3 and 7 patients: an exact total of 22 would give away 3 + 7 = 10 once 12 is known
    login_verified(client, cnil_liaison)
    # when
    response = client.get(reverse("dashboards:cnil"))
    # then the total is the range implied by what is shown: 12 + 0..9 + 0..9
    summary = response.context["summaries"][0]
    assert summary["patients"] == f"entre {len(LAB_A_SPEC)} et {len(LAB_A_SPEC) + 18}"
    exact = str(len(LAB_A_SPEC) + 3 + 7)
    assert exact not in [value for value in summary.values() if isinstance(value, str)]


def test_sorting_by_a_masked_column_does_not_reveal_the_order_of_masked_counts(world):
    # given B (3 patients) and C (7 patients), both shown "< 10"
    rows = cnil.cnil_rows()
    for descending in (False, True):
        # when sorted either way by patients
        codes = [r.laboratory.code for r in cnil.cnil_rows_sorted(rows, key="patients", descending=descending)]
        masked_codes = [c for c in codes if c != "LAB-A"]
        # then B and C keep the laboratory-code order, whichever way the column is sorted
        assert masked_codes == ["LAB-B", "LAB-C"]
        assert codes.index("LAB-A") == (0 if descending else 2)


# --- pages and access ---------------------------------------------------------------------------------------


def test_dpo_dashboard_shows_own_laboratory_and_never_another_laboratorys_numbers(client, world, dpo_lab_a):
    # given the DPO of lab A, logged in with the second factor
    login_verified(client, dpo_lab_a)
    # when
    response = client.get(reverse("dashboards:dpo"))
    # then lab A's campaign is there and nothing of lab B
    assert response.status_code == 200
    body = response.content.decode()
    assert "Information A" in body and "Laboratoire A" in body
    assert "Information B" not in body and "Laboratoire B" not in body
    sections = response.context["sections"]
    assert [s["laboratory"].code for s in sections] == ["LAB-A"]
    shown = sections[0]["campaigns"][0]["stats"]
    assert shown.patients == len(LAB_A_SPEC)
    assert sections[0]["patients"] == len(LAB_A_SPEC)
    assert "<svg" in body and 'class="st-delivered"' in body


def test_dashboards_keep_the_strict_csp_with_no_inline_script_or_style(client, world, dpo_lab_a, cnil_liaison):
    for user, name in ((dpo_lab_a, "dashboards:dpo"), (cnil_liaison, "dashboards:cnil")):
        client.logout()
        login_verified(client, user)
        response = client.get(reverse(name))
        body = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert "<script" not in body and "style=" not in body and "<style" not in body


def test_anonymous_and_unverified_users_are_sent_to_the_admin_login(client, world, dpo_lab_a):
    for name in ("dashboards:dpo", "dashboards:cnil"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    # a password without the second factor is not enough
    client.force_login(dpo_lab_a)
    response = client.get(reverse("dashboards:dpo"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_a_dpo_cannot_open_the_cnil_page_nor_its_export(client, world, dpo_lab_a):
    login_verified(client, dpo_lab_a)
    assert client.get(reverse("dashboards:cnil")).status_code == 403
    assert client.get(reverse("dashboards:cnil_export")).status_code == 403


def test_the_cnil_liaison_cannot_open_dpo_pages_nor_downloads(client, world, cnil_liaison):
    login_verified(client, cnil_liaison)
    campaign = world["campaign_a"]
    assert client.get(reverse("dashboards:dpo")).status_code == 403
    assert client.get(reverse("dashboards:delivery_report", args=[campaign.pk, "csv"])).status_code == 403
    assert client.get(reverse("dashboards:unreachable", args=[campaign.pk, "csv"])).status_code == 403
    assert not AuditEvent.objects.filter(action="export").exists()


def test_a_dpo_gets_404_for_another_laboratorys_downloads(client, world, dpo_lab_a):
    login_verified(client, dpo_lab_a)
    campaign_b = world["campaign_b"]
    for name in ("dashboards:delivery_report", "dashboards:unreachable"):
        assert client.get(reverse(name, args=[campaign_b.pk, "csv"])).status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()


def test_delivery_report_lists_every_notification_of_the_campaign_and_is_audited(client, world, dpo_lab_a):
    # given
    login_verified(client, dpo_lab_a)
    campaign = world["campaign_a"]
    # when
    response = client.get(reverse("dashboards:delivery_report", args=[campaign.pk, "csv"]))
    # then
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == len(_lines())
    assert {r["référence"] for r in rows} == set(campaign.notifications.values_list("reference", flat=True))
    assert sum(r["lu par le patient"] == "oui" for r in rows) == sum(1 for *_, ack in _lines() if ack)
    assert LAB_B_SURNAME not in response.content.decode("utf-8-sig")
    event = AuditEvent.objects.get(action="export")
    assert event.actor == dpo_lab_a and event.object_id == str(campaign.pk)
    assert event.extra["rows"] == len(rows) and event.extra["export"] == "rapport-envois"


def test_unreachable_list_holds_exactly_the_patients_reached_on_no_channel(client, world, dpo_lab_a):
    # given
    login_verified(client, dpo_lab_a)
    campaign = world["campaign_a"]
    failed = set(Notification.UNREACHED)
    expected = sum(1 for p in LAB_A_SPEC if all(st in failed for _, st, *_ in p))
    # when
    response = client.get(reverse("dashboards:unreachable", args=[campaign.pk, "xlsx"]))
    # then
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][:3] == ("référence du courrier", "civilité", "nom")  # the campaign engine's CallCentreResource
    assert len(values) - 1 == expected
    assert AuditEvent.objects.filter(action="export", extra__export="injoignables").count() == 1


def test_an_unknown_download_format_is_404_not_a_traceback(client, world, dpo_lab_a):
    login_verified(client, dpo_lab_a)
    response = client.get(reverse("dashboards:delivery_report", args=[world["campaign_a"].pk, "pdf"]))
    assert response.status_code == 404


def test_cnil_page_masks_small_counts_and_shows_no_patient_name(client, world, cnil_liaison):
    # given
    login_verified(client, cnil_liaison)
    # when
    response = client.get(reverse("dashboards:cnil"))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert LAB_B_SURNAME not in body and "Ermengarde" not in body
    cells = {item["row"].laboratory.code: item["cells"] for item in response.context["table"]}
    assert cells["LAB-A"]["patients"] == str(len(LAB_A_SPEC))
    assert cells["LAB-B"]["patients"] == "< 10"
    assert cells["LAB-C"]["patients"] == "< 10"
    assert cells["LAB-B"]["returned"] == "< 10"
    assert "&lt; 10" in body
    assert "déposée hors délai" in body and "déposée dans les délais" in body


def test_cnil_export_is_masked_nameless_and_audited(client, world, cnil_liaison):
    # given
    login_verified(client, cnil_liaison)
    # when
    response = client.get(reverse("dashboards:cnil_export"))
    # then
    text = response.content.decode()
    assert response.status_code == 200
    assert LAB_B_SURNAME not in text and "Ermengarde" not in text
    rows = {r["code laboratoire"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["LAB-A"]["patients concernés"] == str(len(LAB_A_SPEC))
    assert rows["LAB-B"]["patients concernés"] == "< 10"
    assert rows["LAB-B"]["patients injoignables"] == "< 10"
    assert rows["LAB-C"]["notification initiale"] == "à déposer, dans les délais"
    event = AuditEvent.objects.get(action="export")
    assert event.actor == cnil_liaison and event.extra["export"] == "cnil-tableau" and event.extra["rows"] == 3


def test_a_campaign_not_launched_yet_shows_without_charts_or_errors(client, world, dpo_lab_a):
    # given a draft campaign with no notification at all
    author = get_user_model().objects.get(username="author")
    Campaign.objects.create(breach=world["breach"], laboratory=world["campaign_a"].laboratory, name="Brouillon",
                            created_by=author)  # fmt: skip
    login_verified(client, dpo_lab_a)
    # when
    response = client.get(reverse("dashboards:dpo"))
    # then both campaigns are listed, the draft with zero counts
    assert response.status_code == 200
    campaigns = {c["campaign"].name: c for c in response.context["sections"][0]["campaigns"]}
    assert campaigns["Brouillon"]["stats"].notifications == 0
    assert campaigns["Brouillon"]["status_chart"] == "" and campaigns["Brouillon"]["first_notice_after"] is None


def test_an_unknown_sort_parameter_falls_back_to_the_deadline_order(client, world, cnil_liaison):
    login_verified(client, cnil_liaison)
    response = client.get(reverse("dashboards:cnil"), {"tri": "<script>", "ordre": "n'importe"})
    assert response.status_code == 200
    assert response.context["sort"] == "echeance" and response.context["order"] == "asc"
    assert "<script>" not in response.content.decode()


def test_downloads_neutralise_spreadsheet_formulas_but_keep_phone_numbers(client, world, dpo_lab_a):
    # given a bounce reason that a spreadsheet would run as a formula, and an unreachable patient's phone
    campaign = world["campaign_a"]
    Notification.objects.filter(campaign=campaign, status=S.BOUNCED).update(last_error='=HYPERLINK("http://x")')
    login_verified(client, dpo_lab_a)
    # when both lists are downloaded
    report = client.get(reverse("dashboards:delivery_report", args=[campaign.pk, "csv"])).content.decode("utf-8-sig")
    call_list = client.get(reverse("dashboards:unreachable", args=[campaign.pk, "csv"])).content.decode("utf-8-sig")
    # then the formula is text and the E.164 number is intact
    reasons = [row["motif"] for row in csv.DictReader(io.StringIO(report)) if row["motif"]]
    assert reasons and all(reason.startswith("'=") for reason in reasons)
    phones = [row["téléphone"] for row in csv.DictReader(io.StringIO(call_list))]
    assert phones and all(phone == "06 12 34 56 78" for phone in phones)


def test_the_beat_task_refreshes_the_cnil_counts_snapshot(db):
    # given a stale snapshot in the cache
    stale = cnil.CnilCounts(computed_at=timezone.now() - dt.timedelta(hours=1))
    cache.set(cnil.CNIL_COUNTS_CACHE_KEY, stale, 600)
    # when the periodic task runs
    cnil_counts_refresh_task.delay()
    # then the cached snapshot is a fresh one
    assert cache.get(cnil.CNIL_COUNTS_CACHE_KEY).computed_at > stale.computed_at


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_dashboards_call_list_neutralises_a_patient_name_a_spreadsheet_would_run(client, world, dpo_lab_a, fmt):
    # given an unreachable patient of lab A whose names are formulas
    campaign = world["campaign_a"]
    hostile = unreachable_patients(campaign=campaign).first()
    hostile.last_name, hostile.first_name = '=HYPERLINK("http://x")', "+cmd|' /C calc'!A0"
    hostile.save(update_fields=["last_name", "first_name"])
    login_verified(client, dpo_lab_a)
    # when the DPO downloads the call-centre list
    response = client.get(reverse("dashboards:unreachable", args=[campaign.pk, fmt]))
    # then the names come out as text (no formula cell in the workbook) and the phone numbers intact
    if fmt == "csv":
        rows = [tuple(r.values()) for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
        rows = list(sheet.values)[1:]
    names = {(row[2], row[3]) for row in rows}
    assert ('\'=HYPERLINK("http://x")', "'+cmd|' /C calc'!A0") in names
    assert {row[4] for row in rows} == {"06 12 34 56 78"}


def test_the_dashboard_and_the_admin_build_the_call_list_with_the_same_function(client, world, dpo_lab_a):
    # given the campaign engine's builder, asked for campaign A alone
    campaign = world["campaign_a"]
    expected = call_centre_dataset(campaigns=[campaign]).export("csv")
    login_verified(client, dpo_lab_a)
    # when the DPO downloads the list from the dashboard / then it is that file, byte for byte
    response = client.get(reverse("dashboards:unreachable", args=[campaign.pk, "csv"]))
    assert response.content.decode("utf-8") == expected
