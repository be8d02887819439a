"""Gate policies: the role table on pages and API, audit, bad input, and the pure decisions.

Anyone who sees the project reads its policies; Project Admins change the pull policies
(`Perm.UPDATE_PROJECT`); only system admins change quotas.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.gate.policy import (
    PullFacts,
    PullPolicy,
    PushFacts,
    Quota,
    decide_pull,
    decide_push,
    parse_size,
)
from repositories.models import GatePolicy
from repositories.services import gate as gate_service
from tests.api.conftest import JsonClient
from tests.conftest import PERSONAS, World

ACTOR = Actor.system("test")
PULL_EDITORS = {"sysadmin", "padmin"}
QUOTA_EDITORS = {"sysadmin"}


def _expected(persona: str, public: bool, editors: set[str] | None, ok: int, anonymous: int) -> int:
    if persona == "anonymous":
        return anonymous
    if persona == "outsider" and not public:
        return 404
    if editors is None:
        return ok
    return ok if persona in editors else 403


@pytest.mark.django_db
@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("method", "data", "editors"),
    [
        ("get", None, None),
        ("patch", {"require_signed": True, "block_severity": "high"}, PULL_EDITORS),
        ("put", {"quota_bytes": 1000}, QUOTA_EDITORS),
        ("patch", {"require_signed": True, "quota_artifacts": 5}, QUOTA_EDITORS),
    ],
)
def test_the_gate_policy_endpoint_follows_the_role_table(
    world: World,
    api: Callable[[str], JsonClient],
    persona: str,
    project: str,
    method: str,
    data: Any,
    editors: Any,
) -> None:
    response = api(persona).request(method, f"/api/v1/projects/{project}/gate-policy/", data)
    expected = _expected(persona, project == "pub", editors, 200, 401)
    assert response.status_code == expected, response.content
    if expected == 200 and data:
        stored = GatePolicy.objects.get(project__name=project)
        assert all(getattr(stored, field) == value for field, value in data.items())
    elif method != "get":
        assert not GatePolicy.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_policies_page_follows_the_role_table(world: World, persona: str, project: str) -> None:
    client = world.client(persona)
    page = client.get(f"/projects/{project}/policies/")
    assert page.status_code == _expected(persona, project == "pub", None, 200, 302)
    saved = client.post(
        f"/projects/{project}/policies/save/",
        {
            "require_signed": "on",
            "block_severity": "critical",
            "quota_bytes": "1 GiB",
            "quota_artifacts": "3",
        },
    )
    assert saved.status_code == _expected(persona, project == "pub", PULL_EDITORS, 302, 302)
    stored = GatePolicy.objects.filter(project__name=project).first()
    if persona in PULL_EDITORS:
        assert stored is not None and stored.require_signed and stored.block_severity == "critical"
        # A Project Admin's form has the quota fields disabled: what they sent is ignored.
        assert stored.quota_bytes == (1024**3 if persona == "sysadmin" else None)
        assert stored.quota_artifacts == (3 if persona == "sysadmin" else None)
    else:
        assert stored is None


@pytest.mark.django_db
def test_the_page_shows_usage_and_refusals_and_htmx_gets_the_section(world: World) -> None:
    gate_service.save_policy(world.private, {"quota_bytes": 2048, "require_signed": True}, actor=ACTOR)
    judged = gate_service.Judged(
        "pull", "acme/web", "v1", decide_pull("acme/web:v1", PullPolicy(True), PullFacts("sha256:a"))
    )
    assert gate_service.record_refusal(judged, gate_service.gate_actor("ci", "10.0.0.1", "r1"))
    assert not gate_service.record_refusal(
        judged, gate_service.gate_actor("ci", "10.0.0.1", "r2")
    )  # same minute
    page = world.client("guest").get("/projects/acme/policies/").content.decode()
    assert "0 B of 2.0 KiB" in page and "not signed by a key the project trusts" in page
    assert 'id="policy-save"' not in page  # guests read only
    section = world.client("padmin").get("/projects/acme/policies/", headers={"HX-Request": "true"})
    assert section.content.decode().lstrip().startswith('<section id="policies-section"')


@pytest.mark.django_db
def test_changes_are_audited_with_what_changed_and_bad_values_answer_400(
    world: World,
    api: Callable[[str], JsonClient],
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WHARF_GATE_STATE_DIR = tmp_path
    client = api("sysadmin")
    assert (
        client.patch("/api/v1/projects/acme/gate-policy/", {"block_severity": "extreme"}).status_code == 400
    )
    bad = client.patch("/api/v1/projects/acme/gate-policy/", {"quota_bytes": -1})
    assert bad.status_code == 400 and "quota_bytes" in bad.json()
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.patch(
            "/api/v1/projects/acme/gate-policy/", {"block_severity": "medium", "quota_artifacts": 10}
        )
    assert ok.status_code == 200 and ok.json()["editable"] == sorted(gate_service.POLICY_FIELDS)
    event = AuditEvent.objects.get(action=AuditAction.GATE_POLICY_UPDATE)
    assert event.details["changes"]["block_severity"] == {"from": "", "to": "medium"}
    assert event.actor_name == "sysadmin"
    assert (tmp_path / "guarded" / "acme").exists()  # nginx refuses acme's manifests when Wharf is down
    with django_capture_on_commit_callbacks(execute=True):
        client.patch("/api/v1/projects/acme/gate-policy/", {"block_severity": "", "quota_artifacts": None})
    assert not (tmp_path / "guarded" / "acme").exists()
    page = world.client("padmin").post(
        "/projects/acme/policies/save/", {"block_severity": "bogus"}, headers={"HX-Request": "true"}
    )
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()


def test_pull_decisions_name_the_image_and_the_policy() -> None:
    image = "demo/web:v1"
    digest = "sha256:" + "a" * 64
    severity = PullPolicy(block_severity="critical")
    clean = PullFacts(digest, counts={"critical": 0, "high": 4})
    assert decide_pull(image, severity, clean).allowed
    vulnerable = decide_pull(image, severity, PullFacts(digest, counts={"critical": 3}))
    assert (
        vulnerable.message
        == f"image demo/web:v1 ({digest}) has 3 critical vulnerabilities (policy: block critical)"
    )
    one = decide_pull(
        f"demo/web@{digest}", PullPolicy(block_severity="medium"), PullFacts(digest, counts={"medium": 1})
    )
    assert (
        one.message == f"image demo/web@{digest} has 1 medium vulnerability (policy: block medium and above)"
    )
    assert "has not been scanned" in decide_pull(image, severity, PullFacts(digest)).message
    assert decide_pull(image, severity, PullFacts(digest, is_index=True)).allowed  # its platforms are judged
    signed = PullPolicy(require_signed=True)
    assert not decide_pull(image, signed, PullFacts(digest)).allowed
    assert decide_pull(image, signed, PullFacts(digest, signature="signed")).allowed
    assert decide_pull(image, signed, PullFacts(digest, signed_by_parent=True)).allowed
    assert decide_pull(image, signed, PullFacts(digest, accessory=True)).allowed
    assert (
        "not valid: signs another digest"
        in decide_pull(
            image, signed, PullFacts(digest, signature="invalid", signature_problem="signs another digest")
        ).message
    )
    assert "not known to Wharf yet" in decide_pull(image, signed, PullFacts(None)).message
    assert decide_pull(image, PullPolicy(), PullFacts(None)).allowed


def test_push_decisions_check_immutability_then_quotas() -> None:
    assert (
        "is immutable"
        in decide_push("a/b:v1", "a", Quota(), PushFacts(protected_by=2, current_digest="sha256:x")).message
    )
    over = decide_push("a/b:v2", "a", Quota(bytes=1024), PushFacts(used_bytes=1000, added_bytes=100))
    assert over.policy == "quota_storage" and "storage quota of 1.0 KiB" in over.message
    assert decide_push(
        "a/b:v2", "a", Quota(bytes=1024), PushFacts(used_bytes=2000, added_bytes=0)
    ).allowed  # adds nothing
    assert not decide_push(
        "a/b:v2", "a", Quota(artifacts=2), PushFacts(artifacts=2, added_artifacts=1)
    ).allowed
    assert decide_push("a/b:v2", "a", Quota(artifacts=2), PushFacts(artifacts=2, added_artifacts=0)).allowed


def test_pushes_in_progress_count_against_the_quota_with_what_they_reserve() -> None:
    quota = Quota(bytes=1024, artifacts=3)
    assert decide_push("a/b:v2", "a", quota, PushFacts(used_bytes=500, added_bytes=500, artifacts=1, added_artifacts=1)).allowed
    storage = decide_push(
        "a/b:v2", "a", quota, PushFacts(used_bytes=500, reserved_bytes=400, added_bytes=500, added_artifacts=1)
    )
    assert storage.policy == "quota_storage"
    assert "it uses 500 B, pushes in progress add 400 B and this image adds 500 B" in storage.message
    count = decide_push("a/b:v2", "a", quota, PushFacts(artifacts=1, reserved_artifacts=2, added_artifacts=1))
    assert count.policy == "quota_artifacts" and "(it holds 1, pushes in progress add 2)" in count.message


@pytest.mark.parametrize(
    ("text", "size"),
    [("", None), ("1048576", 1048576), ("10 GiB", 10 * 1024**3), ("500MB", 500 * 1000**2), ("1.5 kib", 1536)],
)
def test_sizes_read_as_people_write_them(text: str, size: int | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["ten", "5 parsecs", "-1 GiB", "GiB"])
def test_unreadable_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)
