"""`manage.py campaign ... --by USER`: the named person is checked against the role × action table."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labs import access
from notifier.models import Campaign, PrintBatch
from tests.access_fixtures import make_staff

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("subcommand", ["approve", "launch", "pause", "resume", "cancel"])
def test_the_cnil_liaison_named_with_by_is_refused_every_campaign_move(
    subcommand, make_patients, make_campaign, cnil_liaison
):
    # given an approved campaign
    make_patients(1)
    campaign = make_campaign()
    # when the command is run on behalf of the CNIL liaison
    with pytest.raises(CommandError, match="n'a pas le droit"):
        call_command("campaign", subcommand, str(campaign.pk), "--by", cnil_liaison.username, stdout=StringIO())
    # then the campaign did not move
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.APPROVED


def test_a_dpo_of_another_laboratory_cannot_create_or_hand_over_for_this_one(
    make_patients, make_campaign, breach, laboratory, dpo_lab_b
):
    # given a built print batch of the laboratory, and the DPO of another laboratory
    make_patients(1)
    campaign = make_campaign()
    batch = PrintBatch.objects.create(campaign=campaign, sequence=9, built_at=timezone.now())
    # when they create a campaign for this laboratory or hand its batch over
    with pytest.raises(CommandError, match="LABA"):
        call_command("campaign", "create", "--breach", breach.slug, "--laboratory", laboratory.code, "--name", "X",
                     "--by", dpo_lab_b.username, stdout=StringIO())  # fmt: skip
    with pytest.raises(CommandError, match="n'a pas le droit"):
        call_command("campaign", "handover", str(batch.pk), "--by", dpo_lab_b.username, stdout=StringIO())
    # then nothing was created nor handed over
    assert Campaign.objects.count() == 1
    batch.refresh_from_db()
    assert batch.handed_over_at is None


def test_a_staff_user_without_a_role_cannot_approve_from_the_shell(make_patients, make_campaign, laboratory):
    make_patients(1)
    campaign = make_campaign(approve=False)
    nobody = make_staff("sans-role", laboratories=[laboratory])
    with pytest.raises(CommandError, match="sans-role"):
        call_command("campaign", "approve", str(campaign.pk), "--by", nobody.username, stdout=StringIO())
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_every_subcommand_of_campaign_has_a_line_in_the_table():
    # given the command's subcommands, read from its own parser
    from notifier.management.commands.campaign import Command

    parser = Command().create_parser("manage.py", "campaign")
    (sub,) = [a for a in parser._actions if a.dest == "action"]
    # then each one is in COMMAND_TABLE with a permission of the table
    for name in sub.choices:
        permission = access.command_permission(f"campaign {name}")
        assert permission in access.PERMISSION_TABLE, name


def test_every_management_command_of_the_project_is_in_the_table():
    # given the project's own management commands
    from django.core.management import get_commands

    project = {"labs", "patients", "letters", "notifier", "status_page", "dashboards"}
    names = sorted(name for name, app in get_commands().items() if app in project)
    # then each is declared: operations only ("ops.shell"), or per subcommand with the `--by` permission
    declared = {key.split()[0] for key in access.COMMAND_TABLE}
    assert names and set(names) <= declared, set(names) - declared
