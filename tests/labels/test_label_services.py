"""The label services: each change is validated, made and audited in one transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import ArtifactLabel, Label
from repositories.services import labels as service
from tests.api.conftest import fill_project

ACTOR = Actor.system("test")


@pytest.fixture
def rows(world):
    return {"acme": fill_project(world.private), "pub": fill_project(world.public)}


def test_create_label_is_audited_with_the_project(world):
    label = service.create_label(project=world.private, name=" release ", color="#1F883D", description="d", actor=ACTOR)

    assert (label.name, label.color) == ("release", "#1f883d")
    event = AuditEvent.objects.get(action=AuditAction.LABEL_CREATE)
    assert (event.project_id, event.target_name, event.details["scope"]) == (world.private.pk, "release", "project")


@pytest.mark.parametrize("color", ["red", "#12345", "#1234567", "#ggg000", "", "1f883d"])
def test_a_colour_must_be_six_hex_digits(world, color):
    with pytest.raises(ValidationError) as caught:
        service.create_label(project=None, name="x", color=color, actor=ACTOR)

    assert "color" in caught.value.message_dict
    assert not Label.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.LABEL_CREATE).exists()


def test_names_are_unique_per_project_and_among_global_labels(world):
    service.create_label(project=world.private, name="release", color="#000000", actor=ACTOR)
    service.create_label(project=world.public, name="release", color="#000000", actor=ACTOR)
    service.create_label(project=None, name="release", color="#000000", actor=ACTOR)

    for project in (world.private, None):
        with pytest.raises(ValidationError) as caught:
            service.create_label(project=project, name="release", color="#ffffff", actor=ACTOR)
        assert caught.value.messages
    assert Label.objects.count() == 3


def test_update_audits_what_changed_only(world):
    label = service.create_label(project=None, name="qa", color="#000000", actor=ACTOR)

    service.update_label(label, actor=ACTOR, name="qa", color="#ABCDEF")

    event = AuditEvent.objects.get(action=AuditAction.LABEL_UPDATE)
    assert event.details["changes"] == {"color": {"from": "#000000", "to": "#abcdef"}}
    service.update_label(label, actor=ACTOR, color="#abcdef")  # no change, no event
    assert AuditEvent.objects.filter(action=AuditAction.LABEL_UPDATE).count() == 1


def test_adding_is_idempotent_and_audited_once_per_change(world, rows):
    label = service.create_label(project=None, name="release", color="#00ff00", actor=ACTOR)
    app = rows["acme"]

    assert service.add_label(label, [app.image, app.index], project=world.private, actor=ACTOR) == 2
    assert service.add_label(label, [app.image], project=world.private, actor=ACTOR) == 0

    events = AuditEvent.objects.filter(action=AuditAction.LABEL_ADD)
    assert events.count() == 1
    assert sorted(events.get().details["artifacts"]) == sorted(f"acme/app@{a.digest}" for a in (app.image, app.index))
    assert service.remove_label(label, [app.image], project=world.private, actor=ACTOR) == 1
    assert list(ArtifactLabel.objects.values_list("artifact_id", flat=True)) == [app.index.pk]


def test_another_projects_label_cannot_go_on_an_artifact(world, rows):
    theirs = service.create_label(project=world.public, name="theirs", color="#000000", actor=ACTOR)

    with pytest.raises(ValidationError) as caught:
        service.add_label(theirs, [rows["acme"].image], project=world.private, actor=ACTOR)

    assert "label" in caught.value.message_dict
    assert not ArtifactLabel.objects.exists()


def test_a_failed_audit_rolls_the_change_back(world, rows, monkeypatch):
    label = service.create_label(project=None, name="release", color="#00ff00", actor=ACTOR)

    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(service, "record", broken)
    with pytest.raises(RuntimeError), transaction.atomic():
        service.add_label(label, [rows["acme"].image], project=world.private, actor=ACTOR)

    assert not ArtifactLabel.objects.exists()


def test_deleting_a_label_takes_it_off_artifacts_and_says_how_many(world, rows):
    label = service.create_label(project=world.private, name="old", color="#000000", actor=ACTOR)
    service.add_label(label, [rows["acme"].image], project=world.private, actor=ACTOR)

    service.delete_label(label, actor=ACTOR)

    assert not ArtifactLabel.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.LABEL_DELETE).details["artifacts"] == 1
