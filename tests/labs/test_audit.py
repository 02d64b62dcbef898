import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from labs.audit import AuditEvent, AuditImmutableError, audit_purge, audit_record

pytestmark = pytest.mark.django_db


def test_audit_record_stores_who_role_what_lab_and_where(rf, dpo_lab_a, lab_a):
    # given a DPO's request from a known address
    request = rf.get("/admin/", REMOTE_ADDR="192.0.2.7")
    # when a read is recorded
    event = audit_record(actor=dpo_lab_a, action="view", obj=lab_a, request=request, reason="check")
    # then every element of the trail is there
    event.refresh_from_db()
    assert (event.actor_username, event.role, event.action) == ("dpo-a", "DPO", "view")
    assert (event.object_type, event.object_id, event.laboratory_id) == ("labs.laboratory", str(lab_a.pk), lab_a.pk)
    assert event.ip_address == "192.0.2.7"
    assert event.extra == {"reason": "check"}


def test_an_audit_event_cannot_be_changed_or_deleted_through_the_orm(lab_a):
    # given a recorded event
    event = audit_record(actor=None, action="import", laboratory=lab_a)
    # when it is edited, deleted, or updated/deleted in bulk, then each is refused
    event.action = "nothing happened"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()
    # and the row is unchanged
    assert AuditEvent.objects.get(pk=event.pk).action == "import"


def test_purge_deletes_only_events_past_the_retention_period(settings):
    # given a 365-day retention, an event 400 days old and one 300 days old
    settings.AUDIT_RETENTION_DAYS = 365
    now = timezone.now()
    _event_at(now - dt.timedelta(days=400))
    recent = _event_at(now - dt.timedelta(days=300))
    # when the purge runs twice
    first, second = audit_purge(now=now), audit_purge(now=now)
    # then only the old event went, once
    assert (first, second) == (1, 0)
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_purge_never_goes_under_six_months_whatever_the_setting(settings):
    # given a retention misconfigured to 30 days and an event 100 days old
    settings.AUDIT_RETENTION_DAYS = 30
    event = _event_at(timezone.now() - dt.timedelta(days=100))
    # when the purge runs, then the event is kept (183-day floor)
    assert audit_purge() == 0
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def _event_at(when):
    # Inserting with a past date is allowed (inserts are the only write): no UPDATE needed to age a row.
    return AuditEvent.objects.create(at=when, action="import")


@pytest.mark.integration
def test_postgresql_refuses_update_and_delete_of_audit_rows_even_in_raw_sql():
    # given an event on PostgreSQL
    event = audit_record(actor=None, action="import")
    table = AuditEvent._meta.db_table
    # when raw UPDATE and DELETE are tried, then the trigger refuses both
    statements = (f"UPDATE {table} SET action = 'x' WHERE id = %s", f"DELETE FROM {table} WHERE id = %s")  # noqa: S608
    for sql in statements:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "import"


@pytest.mark.integration
def test_postgresql_trigger_lets_the_purge_delete_old_rows_only(settings):
    # given an old and a recent event
    settings.AUDIT_RETENTION_DAYS = 365
    _event_at(timezone.now() - dt.timedelta(days=400))
    recent = audit_record(actor=None, action="import")
    # when the purge runs, then the old one goes; a raw delete with the purge flag on a recent row is refused
    assert audit_purge() == 1
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('notifier.audit_purge', 'on', true)")
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [recent.pk])  # noqa: S608
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
