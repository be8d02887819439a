"""The audit log is append-only at every layer and its hash chain exposes tampering."""

from __future__ import annotations

import threading
from importlib import import_module

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.context import Actor
from audit.models import AppendOnlyError, AuditAction, AuditEvent
from audit.services import record, verify_chain
from repositories.services.projects import create_project

SYSTEM = Actor.system("test")


def _events(n: int = 3) -> list[AuditEvent]:
    return [
        record(AuditAction.PROJECT_UPDATE, actor=SYSTEM, target_type="project", target_name=f"p{i}", details={"i": i})
        for i in range(n)
    ]


@pytest.mark.django_db
def test_events_link_to_their_predecessor() -> None:
    first, second, third = _events()
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert verify_chain() == (3, None)


@pytest.mark.django_db
def test_model_refuses_update_and_delete() -> None:
    event = _events(1)[0]
    event.target_name = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(target_name="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).target_name == "p0"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql", ["UPDATE audit_auditevent SET target_name = 'forged'", "DELETE FROM audit_auditevent"]
)
def test_database_trigger_refuses_raw_update_and_delete(sql: str) -> None:
    if connection.vendor == "sqlite" and sql.startswith("DELETE"):
        pytest.skip("SQLite: the test runner empties tables with DELETE, so only UPDATE is refused (audit 0010)")
    _events(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.filter(target_name="forged").count() == 0
    assert AuditEvent.objects.count() == 2


def _tamper(sql: str, params: list[object]) -> None:
    """What an attacker with table-owner rights could do: switch the trigger off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
        else:  # SQLite cannot disable a trigger: drop it and put it back (the migration owns the SQL)
            trigger = import_module("audit.migrations.0010_sqlite_append_only_trigger")
            cursor.execute(trigger.DROP)
            cursor.execute(sql, params)
            cursor.execute(trigger.CREATE)


@pytest.mark.django_db
def test_audit_verify_reports_a_changed_row() -> None:
    events = _events(4)
    call_command("audit_verify")
    _tamper("UPDATE audit_auditevent SET details = %s WHERE id = %s", ['{"i": 99}', events[2].pk])
    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}: its content"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_audit_verify_reports_a_removed_row() -> None:
    events = _events(4)
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}: its link"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_event_rolls_back_with_the_change_it_describes() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        create_project(actor=SYSTEM, name="doomed")
        raise RuntimeError("the caller's transaction fails after the change")
    assert not AuditEvent.objects.filter(target_name="doomed").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain() -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with transaction.atomic():
                    record(AuditAction.PROJECT_UPDATE, actor=SYSTEM, target_name=f"w{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert verify_chain() == (40, None)
