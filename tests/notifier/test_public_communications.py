"""Art. 34(3)(c) public communications: the figures that justify them (unreachable patients by reason), frozen
when recorded; the admin page (DPO of the laboratory only), the case file, the register, the CNIL dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from dashboards import cnil
from labs.models import BreachLaboratory, PublicCommunication
from labs.register import BreachRegisterResource
from labs.selectors import register_rows
from notifier.models import Campaign, Notification
from notifier.public_communications import public_communication_record
from notifier.selectors import unreachable_by_reason
from tests.access_fixtures import login_verified
from tests.factories import BreachFactory, PatientFactory

pytestmark = pytest.mark.django_db
S, R = Notification.Status, Notification.ReturnReason
POST, EMAIL = Notification.Channel.POST, Notification.Channel.EMAIL
SURNAME = "Zorglubovitch"


class Rows:
    def __init__(self):
        self.n = 0

    def add(self, campaign, patient, channel, status, reason=""):
        self.n += 1
        return Notification.objects.create(
            campaign=campaign, patient=patient, channel=channel, status=status, return_reason=reason,
            reference=f"P{self.n}", code_digest=f"{self.n:064x}",
        )  # fmt: skip


@pytest.fixture
def world(lab_a, lab_b):
    """Laboratory A: 12 letters back « NPAI », 2 patients with a letter back « adresse incomplète » and a
    bounced email, 3 with no address nor email, 1 deceased, 4 reached, 1 reached only by a follow-up; a
    cancelled campaign's rows and laboratory B's rows count nowhere in A's figures."""
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)
    breach = BreachFactory(slug="fuite-publique", title="Fuite du logiciel")
    author = get_user_model().objects.create_user("author", password="x" * 16, is_staff=True)
    case_a = BreachLaboratory.objects.create(breach=breach, laboratory=lab_a, aware_at=timezone.now())
    case_b = BreachLaboratory.objects.create(breach=breach, laboratory=lab_b, aware_at=timezone.now())

    def campaign(lab, status=Campaign.Status.RUNNING):
        return Campaign.objects.create(breach=breach, laboratory=lab, name="Info", created_by=author, status=status)

    first, follow_up, cancelled, other = campaign(lab_a), campaign(lab_a), campaign(lab_a, "cancelled"), campaign(lab_b)
    rows = Rows()

    def patient(lab=lab_a):
        return PatientFactory(breach=breach, laboratory=lab, last_name=SURNAME)

    for _ in range(12):
        rows.add(first, patient(), POST, S.RETURNED, R.MOVED)
    for _ in range(2):
        p = patient()
        rows.add(first, p, POST, S.RETURNED, R.INCOMPLETE)
        rows.add(first, p, EMAIL, S.BOUNCED)
    for _ in range(3):
        rows.add(first, patient(), POST, S.UNREACHABLE)
    rows.add(first, patient(), POST, S.RETURNED, R.DECEASED)
    for _ in range(4):
        rows.add(first, patient(), POST, S.SENT)
    reached_later = patient()
    rows.add(first, reached_later, POST, S.RETURNED, R.MOVED)
    rows.add(follow_up, reached_later, EMAIL, S.DELIVERED)
    rows.add(cancelled, patient(), POST, S.UNREACHABLE)
    for _ in range(5):
        rows.add(other, patient(lab_b), POST, S.RETURNED, R.MOVED)
    yield {"breach": breach, "case_a": case_a, "case_b": case_b, "first": first, "rows": rows}
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)


def _reasons(figures):
    return {reason["code"]: reason["patients"] for reason in figures["reasons"]}


def test_the_figures_count_unreachable_patients_by_reason_across_the_case_files_campaigns(world):
    figures = unreachable_by_reason(breach_id=world["breach"].pk, laboratory_id=world["case_a"].laboratory_id)
    # 12 + 2 + 3 + 1 + 4 + 1 patients written to by A's live campaigns (the cancelled one's patient aside)
    assert (figures["patients"], figures["unreachable"], figures["deceased"]) == (23, 17, 1)
    # a patient may have two reasons (letter back and email bounced): 12 NPAI, 2 + 2, 3 with nothing
    assert _reasons(figures) == {"returned:moved": 12, "returned:incomplete": 2, "bounced": 2, "no_contact": 3}
    labels = [reason["label"] for reason in figures["reasons"]]
    assert labels[0] == "courrier revenu : n'habite pas à l'adresse indiquée (NPAI)"


def test_recording_freezes_the_figures_of_the_moment_and_twice_is_once(world):
    published = timezone.now() - dt.timedelta(hours=2)
    kwargs = {"case_file": world["case_a"], "published_at": published, "medium": "press", "where": "Ouest-France",
              "text": "Avis aux patients du laboratoire A", "by": None}  # fmt: skip
    publication = public_communication_record(**kwargs)
    # when more letters come back afterwards
    world["rows"].add(world["first"], PatientFactory(breach=world["breach"], laboratory=world["case_a"].laboratory),
                      POST, S.RETURNED, R.MOVED)  # fmt: skip
    # then the publication keeps the figures that justified it then; recording it again changes nothing
    publication.refresh_from_db()
    assert publication.figures["unreachable"] == 17 and _reasons(publication.figures)["returned:moved"] == 12
    assert public_communication_record(**kwargs).pk == publication.pk
    assert PublicCommunication.objects.count() == 1
    assert ("patients injoignables", 17) in publication.figures_lines


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"published_at": timezone.now() + dt.timedelta(days=1)}, "published_at", "date est dans le futur"),
        ({"medium": "website", "url": ""}, "url", "indiquez l'adresse de la page"),
        ({"medium": "press", "where": " "}, "where", "titre du journal"),
        ({"text": "  "}, "text", "Collez le texte publié"),
    ],
)
def test_a_publication_that_proves_nothing_is_refused_in_french(world, fields, field, message):
    data = {"case_file": world["case_a"], "published_at": timezone.now(), "medium": "website",
            "url": "https://labo-a.example/avis", "where": "", "text": "Avis", "by": None, **fields}  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        public_communication_record(**data)
    assert message in " ".join(refused.value.message_dict[field])
    assert not PublicCommunication.objects.exists()


# --- the admin: the DPO records for their laboratory, the liaison reads -----------------------------------
def _form(case_file, **extra):
    when = timezone.localtime() - dt.timedelta(hours=1)
    return {"case_file": case_file.pk, "published_at_0": f"{when:%d/%m/%Y}", "published_at_1": f"{when:%H:%M:%S}",
            "medium": "website", "url": "https://labo-a.example/avis", "where": "", "text": "Avis aux patients",
            **extra}  # fmt: skip


def test_the_dpo_sees_the_figures_then_records_a_publication_with_them(world, client, dpo_lab_a):
    login_verified(client, dpo_lab_a)
    add = reverse("admin:labs_publiccommunication_add")
    page = client.get(add, {"case_file": world["case_a"].pk}).content.decode()
    assert 'id="live-figures"' in page and "courrier revenu : n&#x27;habite pas" in page and SURNAME not in page
    response = client.post(add, _form(world["case_a"]))
    assert response.status_code == 302
    publication = PublicCommunication.objects.get()
    assert publication.recorded_by == dpo_lab_a and publication.figures["unreachable"] == 17
    # and the case file's page shows it with its frozen figures
    case_page = client.get(reverse("admin:labs_breachlaboratory_change", args=[world["case_a"].pk])).content.decode()
    assert "https://labo-a.example/avis" in case_page and "patients injoignables : 17" in case_page


def test_bad_input_on_the_admin_page_is_answered_in_french_and_records_nothing(world, client, dpo_lab_a):
    login_verified(client, dpo_lab_a)
    add = reverse("admin:labs_publiccommunication_add")
    response = client.post(add, _form(world["case_a"], url="", published_at_0="31/02/2026", text=""))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Date illisible (attendu JJ/MM/AAAA)." in content and "Collez le texte publié" in content
    # another laboratory's case file is not a choice
    response = client.post(add, _form(world["case_b"]))
    assert response.status_code == 200 and "Sélectionnez un choix valide" in response.content.decode()
    assert not PublicCommunication.objects.exists()


def test_another_laboratorys_publication_is_not_found_and_the_liaison_only_reads(
    world, client, dpo_lab_b, cnil_liaison
):
    publication = public_communication_record(case_file=world["case_a"], published_at=timezone.now(), medium="poster",
                                              where="Accueil du laboratoire", text="Avis", by=None)  # fmt: skip
    change = reverse("admin:labs_publiccommunication_change", args=[publication.pk])
    assert login_verified(client, dpo_lab_b).get(change).status_code == 404
    login_verified(client, cnil_liaison)
    assert client.get(change).status_code == 200
    assert client.get(reverse("admin:labs_publiccommunication_add")).status_code == 403
    assert client.post(reverse("admin:labs_publiccommunication_add"), _form(world["case_a"])).status_code == 403
    assert PublicCommunication.objects.count() == 1


# --- the register and the CNIL liaison's dashboard --------------------------------------------------------
def test_the_register_export_has_the_public_communication_columns(world, dpo_lab_a):
    public_communication_record(case_file=world["case_a"], published_at=timezone.now() - dt.timedelta(days=1),
                                medium="website", url="https://labo-a.example/avis", text="Avis", by=None)  # fmt: skip
    (row,) = register_rows(user=dpo_lab_a)
    assert row["public_communication_medium"] == "site web"
    assert row["public_communication_url"] == "https://labo-a.example/avis"
    exported = BreachRegisterResource().export(queryset=BreachLaboratory.objects.filter(pk=world["case_a"].pk))
    headers = exported.headers
    assert {"communication publique : date (Paris)", "communication publique : support",
            "communication publique : lien"} <= set(headers)  # fmt: skip
    assert exported.dict[0]["communication publique : lien"] == "https://labo-a.example/avis"


def test_the_cnil_dashboard_shows_publications_with_masked_aggregates_only(world, client, cnil_liaison):
    public_communication_record(case_file=world["case_a"], published_at=timezone.now() - dt.timedelta(days=1),
                                medium="press", where="Ouest-France", text="Avis", by=None)  # fmt: skip
    content = login_verified(client, cnil_liaison).get(reverse("dashboards:cnil")).content.decode()
    section = content[content.index('id="cnil-publications"') :]
    section = section[: section.index("</table>")]
    assert "presse — Ouest-France" in section
    # 23 patients and 12 NPAI are shown; 2, 2 and 3 are under ten: masked; 17 unreachable of 23 is a bound, not
    # 17 (23 − 17 would give away the 6 reached)
    assert ">23<" in section and "(NPAI) : 12" in section
    assert ">17<" not in section and "&gt; 13 / 23" in section
    assert "rejeté par le serveur du destinataire : &lt; 10" in section
    assert SURNAME not in content and "P1" not in section
    assert "oui, le " in content  # the laboratory's line says when it was published
