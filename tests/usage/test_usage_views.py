"""Storage usage on the project and repository pages and in the API, for who may see it."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import filesizeformat

from repositories.models import Artifact
from repositories.services.sync import sync_now
from tests.support.images import BuiltManifest, build_image, make_layer, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def _size(image: BuiltManifest) -> int:
    return len(image.raw) + sum(blob.size for blob in image.blobs)


@pytest.fixture
def acme(world, wharf_registry):
    """acme/a: v1 [base, a1]; acme/b: v1 [base, b1]."""
    base = make_layer()
    one = build_image(layer_blobs=[base, make_layer()], labels={"n": "1"})
    two = build_image(layer_blobs=[base, make_layer()], labels={"n": "2"})
    client = wharf_registry.client()
    push(client, "acme/a", one, tag="v1")
    push(client, "acme/b", two, tag="v1")
    assert sync_now().status == "succeeded"
    return one, two, base[0].size


def test_project_usage_api_counts_a_shared_layer_once(world, acme) -> None:
    one, two, base = acme
    response = world.client("guest").get("/api/v1/projects/acme/usage/")
    assert response.status_code == 200, response.content
    logical = _size(one) + _size(two)
    assert response.json() == {
        "logical_size": logical,
        "unique_size": logical - base,
        "shared_size": base,
        "blob_count": 2 * 4 - 1,
    }
    assert world.client("outsider").get("/api/v1/projects/acme/usage/").status_code == 404


def test_repository_usage_api_says_what_deleting_a_tag_would_free(world, acme) -> None:
    one, _, base = acme
    client = world.client("guest")
    response = client.get("/api/v1/repositories/acme/a/-/usage/", {"reference": "v1"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["logical_size"], body["unique_size"]) == (_size(one), _size(one))
    assert body["would_free"] == {"size": _size(one) - base, "blob_count": 3, "artifact_count": 1}
    by_digest = client.get("/api/v1/repositories/acme/a/-/usage/", {"reference": one.digest}).json()
    assert by_digest["would_free"] == body["would_free"]
    whole = client.get("/api/v1/repositories/acme/a/-/usage/").json()
    assert whole["would_free"]["size"] == _size(one) - base
    assert world.client("outsider").get("/api/v1/repositories/acme/a/-/usage/").status_code == 404


def test_repository_usage_api_refuses_an_unknown_reference_with_a_field_error(world, acme) -> None:
    response = world.client("guest").get("/api/v1/repositories/acme/a/-/usage/", {"reference": ["v1", "nope"]})
    assert response.status_code == 400
    assert "nope" in str(response.json())


def test_pages_show_unique_logical_and_would_free(world, acme) -> None:
    one, two, base = acme
    client = world.client("guest")
    page = client.get("/projects/acme/").content.decode()
    logical = _size(one) + _size(two)
    assert f"{filesizeformat(logical - base)} unique" in page and f"{filesizeformat(logical)} logical" in page
    repo_page = client.get("/projects/acme/repositories/a/").content.decode()
    assert 'hx-get="/projects/acme/repositories/a/-/usage/"' in repo_page, "the page loads its usage line"
    usage = client.get("/projects/acme/repositories/a/-/usage/").content.decode()
    assert 'id="repository-usage"' in usage
    assert f"would free {filesizeformat(_size(one) - base)}" in usage
    assert world.client("outsider").get("/projects/acme/repositories/a/-/usage/").status_code == 404
    assert Artifact.objects.count() == 2
