"""Deliveries against a real HTTP receiver on loopback: the body is signed, a 500 is
retried at the backoff, Wharf gives up after N attempts, a redelivery sends the same
event again, and a slow or huge answer is cut off. Events come in through the
registry's notification endpoint, as in production."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.factories import ProjectFactory
from tests.sync.test_notifications import SECRET, event, post
from webhooks import services
from webhooks.models import Delivery, Webhook, WebhookFormat
from webhooks.sender import SIGNATURE_HEADER

from .receiver import Answer, Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]

ACTOR = Actor.system("test")
DIGEST = "sha256:" + "b" * 64


@pytest.fixture(autouse=True)
def _notifications(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.WHARF_NOTIFY_SECRET = SECRET
    # The push's manifest is not in any registry here: details are another test's subject.
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)


def _hook(receiver: Receiver, **kwargs: Any) -> Webhook:
    project = kwargs.pop("project", None) or ProjectFactory(name="team")
    defaults: dict[str, Any] = {"name": "ci", "url": receiver.url, "events": ["artifact.pushed"], "secret": "s3cret"}
    return services.create_webhook(actor=ACTOR, project=project, **(defaults | kwargs))


def _push(captured: Any, tag: str = "v1") -> None:
    with captured(execute=True):
        assert post([event("push", "team/app", tag=tag, digest=DIGEST)]).status_code == 200


def test_a_push_is_delivered_signed_in_harbor_format(receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    hook = _hook(receiver)
    _push(django_capture_on_commit_callbacks)

    [got] = receiver.received
    expected = "sha256=" + hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers[SIGNATURE_HEADER.lower()], expected)
    body = json.loads(got.body)
    assert body["type"] == "PUSH_ARTIFACT" and body["operator"] == "alice"
    assert body["event_data"]["repository"]["repo_full_name"] == "team/app"
    assert body["event_data"]["resources"][0] | {"resource_url": ""} == {"digest": DIGEST, "tag": "v1", "resource_url": ""}
    delivery = hook.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (Delivery.Status.SUCCEEDED, 1, 200)
    assert got.headers["x-wharf-delivery"] == str(delivery.pk)


def test_a_wrong_secret_does_not_verify(receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    _hook(receiver)
    _push(django_capture_on_commit_callbacks)
    [got] = receiver.received
    forged = "sha256=" + hmac.new(b"other", got.body, hashlib.sha256).hexdigest()
    assert got.headers[SIGNATURE_HEADER.lower()] != forged


def test_events_a_webhook_did_not_choose_and_disabled_webhooks_send_nothing(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    _hook(receiver, events=["artifact.deleted"])
    project = ProjectFactory(name="other")
    _hook(receiver, name="off", project=project, enabled=False)
    _push(django_capture_on_commit_callbacks)
    assert receiver.received == [] and not Delivery.objects.exists()


def test_system_webhooks_receive_every_projects_events(receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ProjectFactory(name="team")
    services.create_webhook(actor=ACTOR, project=None, name="all", url=receiver.url, events=["artifact.pushed"])
    _push(django_capture_on_commit_callbacks)
    assert len(receiver.received) == 1


def test_a_500_is_retried_at_the_backoff_and_then_delivered(
    receiver: Receiver, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WHARF_WEBHOOKS_BACKOFF_SECONDS = 60
    hook = _hook(receiver)
    receiver.script = [Answer(500, body=b"try later")]
    before = timezone.now()
    _push(django_capture_on_commit_callbacks)

    delivery = hook.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (Delivery.Status.RETRYING, 1, 500)
    assert delivery.response_excerpt == "try later"
    assert before + timedelta(seconds=60) <= delivery.next_retry_at <= timezone.now() + timedelta(seconds=61)
    assert services.due_deliveries() == []  # not yet due

    for due in services.due_deliveries(now=delivery.next_retry_at):
        services.attempt(due)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (Delivery.Status.SUCCEEDED, 2, 200)
    assert len(receiver.received) == 2 and receiver.received[0].body == receiver.received[1].body


def test_backoff_doubles_and_is_capped(settings: Any) -> None:
    settings.WHARF_WEBHOOKS_BACKOFF_SECONDS, settings.WHARF_WEBHOOKS_BACKOFF_CAP_SECONDS = 30, 100
    assert [services.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_wharf_gives_up_after_the_last_attempt_and_a_redelivery_sends_it_again(
    receiver: Receiver, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WHARF_WEBHOOKS_MAX_ATTEMPTS = 3
    hook = _hook(receiver)
    receiver.default = Answer(503)
    _push(django_capture_on_commit_callbacks)
    delivery = hook.deliveries.get()
    for _ in range(5):  # more rounds than attempts: the extra ones find nothing due
        for due in services.due_deliveries(now=timezone.now() + timedelta(days=1)):
            services.attempt(due)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_retry_at) == (Delivery.Status.FAILED, 3, None)
    assert len(receiver.received) == 3

    receiver.default = Answer(204, body=b"")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.redeliver(delivery, actor=ACTOR)
    again.refresh_from_db()
    assert (again.status, again.redelivery_of_id, again.event_id) == (Delivery.Status.SUCCEEDED, delivery.pk, delivery.event_id)
    assert receiver.received[-1].body == receiver.received[0].body
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_REDELIVER, target_name="ci").exists()


def test_a_slow_receiver_is_cut_off_at_the_timeout(receiver: Receiver, settings: Any) -> None:
    settings.WHARF_WEBHOOKS_TIMEOUT = 0.5
    hook = _hook(receiver)
    receiver.script = [Answer(200, delay=3)]
    delivery = services.send_test(hook, actor=ACTOR)  # on_commit not run: attempt by hand
    started = time.monotonic()
    services.attempt(delivery.pk)
    assert time.monotonic() - started < 2
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING and "No answer within" in delivery.error


def test_a_huge_answer_is_read_only_up_to_the_cap(receiver: Receiver, settings: Any) -> None:
    settings.WHARF_WEBHOOKS_MAX_RESPONSE_BYTES = 1000
    hook = _hook(receiver)
    receiver.script = [Answer(200, body=b"x" * (20 << 20))]
    delivery = services.send_test(hook, actor=ACTOR)
    services.attempt(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and len(delivery.response_excerpt) == 1000


def test_cloudevents_payload_is_a_valid_structured_cloudevent(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    hook = _hook(receiver, format=WebhookFormat.CLOUDEVENTS)
    _push(django_capture_on_commit_callbacks)
    [got] = receiver.received
    assert got.headers["content-type"] == "application/cloudevents+json"
    parsed = from_http_event(HTTPMessage(headers=got.headers, body=got.body))
    assert parsed.get_specversion() == "1.0"
    assert parsed.get_type() == "io.wharf.artifact.pushed"
    assert parsed.get_id() == str(hook.deliveries.get().event_id)
    assert parsed.get_source().endswith("/projects/team/")
    assert parsed.get_subject() == "team/app:v1"
    data = parsed.get_data()
    assert isinstance(data, dict) and data["digest"] == DIGEST and data["operator"] == "alice"


def test_slack_format_is_one_readable_line(receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    _hook(receiver, format=WebhookFormat.SLACK)
    _push(django_capture_on_commit_callbacks)
    assert json.loads(receiver.received[0].body) == {"text": "*Artifact pushed*: `team/app:v1` by alice"}


def test_pulls_and_deletes_are_emitted_too(receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    hook = _hook(receiver, events=["artifact.pulled", "artifact.deleted"])
    _push(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        post([event("pull", "team/app", tag="v1", digest=DIGEST, actor="bob")])
        post([event("delete", "team/app", digest=DIGEST)])
    types = [json.loads(r.body)["type"] for r in receiver.received]
    assert types == ["PULL_ARTIFACT", "DELETE_ARTIFACT"]
    assert hook.deliveries.filter(status=Delivery.Status.SUCCEEDED).count() == 2


def test_a_rolled_back_change_sends_nothing(receiver: Receiver) -> None:
    hook = _hook(receiver)
    delivery = services.send_test(hook, actor=ACTOR)
    # Without the commit (the test's transaction never commits) the task never ran.
    assert receiver.received == [] and Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.PENDING


def test_target_is_checked_again_at_delivery(receiver: Receiver, settings: Any) -> None:
    hook = _hook(receiver)
    settings.WHARF_WEBHOOKS_ALLOW_PRIVATE = False
    delivery = services.send_test(hook, actor=ACTOR)
    services.attempt(delivery.pk)
    delivery.refresh_from_db()
    assert "Target refused" in delivery.error and receiver.received == []


def test_the_beat_task_sends_what_is_due_and_recovers_sends_a_dead_worker_left(receiver: Receiver) -> None:
    from webhooks.tasks import retry_due

    hook = _hook(receiver)
    due = services.send_test(hook, actor=ACTOR)
    later = services.send_test(hook, actor=ACTOR)
    stuck = services.send_test(hook, actor=ACTOR)
    now = timezone.now()
    Delivery.objects.filter(pk=due.pk).update(status=Delivery.Status.RETRYING, next_retry_at=now - timedelta(seconds=1))
    Delivery.objects.filter(pk=later.pk).update(status=Delivery.Status.RETRYING, next_retry_at=now + timedelta(hours=1))
    Delivery.objects.filter(pk=stuck.pk).update(status=Delivery.Status.SENDING, last_attempt_at=now - timedelta(hours=1))

    retry_due()  # tasks run inline in tests

    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: Delivery.Status.SUCCEEDED, later.pk: Delivery.Status.RETRYING, stuck.pk: Delivery.Status.SUCCEEDED
    }
    assert sorted(r.headers["x-wharf-delivery"] for r in receiver.received) == sorted([str(due.pk), str(stuck.pk)])


def test_a_delivery_is_sent_by_one_worker_only(receiver: Receiver) -> None:
    delivery = services.send_test(_hook(receiver), actor=ACTOR)
    assert services.attempt(delivery.pk) is not None
    assert services.attempt(delivery.pk) is None  # already delivered: nothing to claim
    assert len(receiver.received) == 1
