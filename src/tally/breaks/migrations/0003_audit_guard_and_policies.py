"""The database refuses UPDATE and DELETE on audit events; the default approval policies.

The triggers are the last line: the model and its manager already refuse, but raw SQL (a
console, a script, another program on the same database) meets the trigger. Removing them takes
a deliberate DROP TRIGGER, and even then ``tally audit verify`` sees the broken chain.
"""

from django.db import migrations

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS breaks_auditevent_no_update BEFORE UPDATE ON breaks_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    "CREATE TRIGGER IF NOT EXISTS breaks_auditevent_no_delete BEFORE DELETE ON breaks_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS breaks_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS breaks_auditevent_no_delete;",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION breaks_auditevent_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql;",
    "DROP TRIGGER IF EXISTS breaks_auditevent_append_only ON breaks_auditevent;",
    "CREATE TRIGGER breaks_auditevent_append_only BEFORE UPDATE OR DELETE ON breaks_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION breaks_auditevent_append_only();",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS breaks_auditevent_append_only ON breaks_auditevent;",
    "DROP FUNCTION IF EXISTS breaks_auditevent_append_only();",
]

# Money-moving actions need a second person above 0 minor units; the rest do not.
DEFAULT_POLICIES = {
    "supplement": (True, 0), "adjust": (True, 0), "write_off": (True, 0), "sync_status": (True, 0),
    "manual_match": (True, 0), "resolve": (True, 0),
    "unmatch": (False, 0), "suspend": (False, 0), "reopen": (False, 0), "undo": (False, 0),
}


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def guard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES)


def unguard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DROP)


def policies(apps, schema_editor):
    ApprovalPolicy = apps.get_model("breaks", "ApprovalPolicy")
    for kind, (requires, threshold) in DEFAULT_POLICIES.items():
        ApprovalPolicy.objects.get_or_create(kind=kind, defaults={"requires_approval": requires,
                                                                  "threshold_minor": threshold})


class Migration(migrations.Migration):

    dependencies = [
        ("breaks", "0002_workflow"),
    ]

    operations = [
        migrations.RunPython(guard, unguard),
        migrations.RunPython(policies, migrations.RunPython.noop),
    ]
