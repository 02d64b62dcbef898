"""PostgreSQL: refuse UPDATE and DELETE on the audit trail, except the retention purge (see labs/audit.py).

The purge sets `notifier.audit_purge = 'on'` for its transaction; even then rows younger than 183 days
(AUDIT_MIN_RETENTION_DAYS) are refused. A no-op on SQLite (the ORM layer still refuses there)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION labs_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('notifier.audit_purge', true), '') = 'on'
       AND OLD.at < now() - interval '183 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'labs_auditevent is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS labs_auditevent_append_only ON labs_auditevent;
CREATE TRIGGER labs_auditevent_append_only BEFORE UPDATE OR DELETE ON labs_auditevent
    FOR EACH ROW EXECUTE FUNCTION labs_auditevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS labs_auditevent_append_only ON labs_auditevent;
DROP FUNCTION IF EXISTS labs_auditevent_append_only();
"""


def _run(schema_editor, sql):
    # A plain cursor without parameters: the `%` of RAISE must not be read as a placeholder.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


def roles_create(apps, schema_editor):
    # The role groups of labs/access.py (names kept in step with DPO / CNIL_LIAISON / OPERATOR there).
    group = apps.get_model("auth", "Group")
    for name in ("DPO", "Liaison CNIL", "Opérateur"):
        group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("labs", "0002_audit_membership"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RunPython(roles_create, migrations.RunPython.noop),
    ]
