from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command

from tests.factories import case_file_complete

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = StringIO()
    call_command("campaign", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_approve_launch_and_status_from_the_command_line(
    make_patients, author, approver, breach, laboratory, django_capture_on_commit_callbacks
):
    # given two patients and the facts the letters need
    make_patients(2)
    case_file_complete(breach=breach, laboratory=laboratory)
    # when
    created = run("create", "--breach", breach.slug, "--laboratory", laboratory.code, "--name", "Vague 1",
                  "--policy", "email", "--by", author.username)  # fmt: skip
    run("approve", str(created["id"]), "--by", approver.username)
    with django_capture_on_commit_callbacks(execute=True):
        launched = run("launch", str(created["id"]), "--by", approver.username)
    status = run("status", str(created["id"]))
    # then
    assert created["status"] == "draft"
    assert launched["launched"]["email"] == 2
    assert status["status"] == "completed"
    assert status["counts"] == {"email": {"sent": 2}}
    assert len(mail.outbox) == 2


def test_the_command_refuses_self_approval_with_a_clear_message(author, breach, laboratory):
    created = run("create", "--breach", breach.slug, "--laboratory", laboratory.code, "--name", "Vague 1",
                  "--by", author.username)  # fmt: skip
    with pytest.raises(CommandError, match="four eyes"):
        call_command("campaign", "approve", str(created["id"]), "--by", author.username, stdout=StringIO())


def test_an_unknown_campaign_is_a_message_not_a_traceback(author):
    with pytest.raises(CommandError, match="unknown campaign"):
        call_command("campaign", "status", "999", stdout=StringIO())


def test_the_demo_subcommand_runs_the_whole_flow_once_and_says_where_things_went(
    make_patients, breach, django_capture_on_commit_callbacks
):
    # given
    make_patients(3)
    # when it runs twice
    with django_capture_on_commit_callbacks(execute=True):
        first = run("demo", "--breach", breach.slug)
    second = run("demo", "--breach", breach.slug)
    # then one campaign, created and approved by two different people, launched, with its files named
    from notifier.models import Campaign

    (campaign,) = Campaign.objects.all()
    assert campaign.created_by != campaign.approved_by
    assert first["id"] == second["id"] == campaign.pk
    assert second["counts"]["email"] == {"sent": 3}  # the first answer predates the after-commit work
    assert len(second["letters"]) == 1 and second["letters"][0].endswith("(3 lettres)")
    # and the printed command hands the letters over: then they count as sent
    (hand_over,) = second["hand_over"]
    call_command(*hand_over.split()[1:], stdout=StringIO())
    assert run("demo", "--breach", breach.slug)["counts"]["post"] == {"sent": 3}
    assert len(mail.outbox) == 3


def test_the_demo_subcommand_is_refused_in_production_and_creates_nothing(make_patients, breach, settings):
    # given a production deployment with patients
    from notifier.models import Campaign, Notification

    settings.PRODUCTION = True
    make_patients(2)
    users_before = get_user_model().objects.count()
    # when the demo is asked for
    with pytest.raises(CommandError, match="refusée avec NOTIFIER_ENV=production"):
        call_command("campaign", "demo", "--breach", breach.slug, stdout=StringIO())
    # then no made-up staff account, no campaign, nothing sent
    assert get_user_model().objects.count() == users_before
    assert not Campaign.objects.exists() and not Notification.objects.exists()
    assert mail.outbox == []


def test_unknown_templates_are_refused_at_creation_and_the_letter_version_is_pinned(author, breach, laboratory):
    from letters.versions import CURRENT_TEMPLATE_VERSION
    from notifier.models import Campaign

    base = ("create", "--breach", breach.slug, "--laboratory", laboratory.code, "--name", "Vague 1", "--by",
            author.username)  # fmt: skip
    with pytest.raises(CommandError, match="unknown email template"):
        call_command("campaign", *base, "--email-template", "../../settings", stdout=StringIO())
    with pytest.raises(CommandError, match="inconnue"):
        call_command("campaign", *base, "--letter-template", "1999-v0", stdout=StringIO())
    assert not Campaign.objects.exists()
    # a blank version means today's, written down so a later wording never changes an approved letter
    created = run(*base)
    assert Campaign.objects.get(pk=created["id"]).letter_template == CURRENT_TEMPLATE_VERSION


def test_status_says_in_words_when_sent_emails_lack_the_servers_confirmation(
    make_patients, author, approver, breach, laboratory, django_capture_on_commit_callbacks
):
    from notifier.models import Notification

    make_patients(2)
    case_file_complete(breach=breach, laboratory=laboratory)
    created = run("create", "--breach", breach.slug, "--laboratory", laboratory.code, "--name", "Vague 1",
                  "--policy", "email", "--by", author.username)  # fmt: skip
    run("approve", str(created["id"]), "--by", approver.username)
    with django_capture_on_commit_callbacks(execute=True):
        run("launch", str(created["id"]), "--by", approver.username)
    human = StringIO()
    call_command("campaign", "status", str(created["id"]), stdout=human)
    assert "unconfirmed" not in human.getvalue()
    # given one sent row whose server reply was never recorded (its worker died mid-send)
    Notification.objects.filter(pk=Notification.objects.first().pk).update(provider_message_id="")
    human = StringIO()
    call_command("campaign", "status", str(created["id"]), stdout=human)
    assert "sent, unconfirmed : 1" in human.getvalue()
    assert run("status", str(created["id"]))["sent_unconfirmed"] == 1


def test_create_a_follow_up_for_the_patients_not_reached_from_the_command_line(author, breach, laboratory):
    from notifier.models import Campaign

    created = run("create", "--breach", breach.slug, "--laboratory", laboratory.code, "--name", "Relance",
                  "--follow-up-target", "not_reached", "--by", author.username)  # fmt: skip
    campaign = Campaign.objects.get(pk=created["id"])
    assert (campaign.is_follow_up, campaign.follow_up_target) == (True, Campaign.FollowUpTarget.NOT_REACHED)
    with pytest.raises(CommandError, match="Destinataires de suivi inconnus"):
        run("create", "--breach", breach.slug, "--laboratory", laboratory.code, "--name", "Relance",
            "--follow-up-target", "tout_le_monde", "--by", author.username)  # fmt: skip
