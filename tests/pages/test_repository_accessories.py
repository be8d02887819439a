"""A repository's tag list nests signatures, SBOMs, attestations and referrers under
the rows of the tags whose artifact they belong to, and keeps orphans findable."""

from __future__ import annotations

import pytest

from repositories import accessories as accessory_rules
from repositories.accessories import (
    AccessoryMode,
    filter_accessories,
    kind_of_tag,
    lookalike_rows,
    nested_accessories,
    subject_expression,
)
from repositories.models import Repository, Tag
from repositories.retention.candidates import reference_subject
from repositories.services.content import refresh_repository_counts
from repositories.services.events import handle_notification
from tests.pages.accessory_content import add_accessories, reference_tag
from tests.pages.repository_content import digest, make_content

URL = "/projects/acme/repositories/app/"
ORDINARY = ["broken", "latest", "v1.0", "v1.1", "v1x0", "v2.0"]


@pytest.fixture
def content(world):
    return make_content(world.private)


@pytest.fixture
def accessories(content):
    return add_accessories(content)


def _names(response) -> list[str]:
    return [t.name for t in response.context["page"].rows]


def _row(html: str, tag: str) -> str:
    return html.split(f'<tr data-tag="{tag}">', 1)[1].split("</tr>", 1)[0]


def test_accessory_tags_are_not_rows_of_the_tag_list(world, content, accessories):
    response = world.client("guest").get(URL)

    orphans = [reference_tag(accessories.missing_subject, ".sig"), reference_tag(accessories.lonely.digest, ".att")]
    assert _names(response) == sorted(ORDINARY + orphans)
    assert response.context["total"].count == len(ORDINARY) + 2
    html = response.content.decode()
    for hidden in (".sig", ".sbom", ".att"):
        assert f'data-tag="{reference_tag(content.image.digest, hidden)}"' not in html
    assert f'data-tag="{reference_tag(content.index.digest)}"' not in html
    assert 'data-tag="sbom-v2"' not in html


def test_cosign_signature_sbom_and_attestation_are_chips_under_each_tag_of_their_subject(world, content, accessories):
    html = world.client("guest").get(URL).content.decode()

    for tag in ("v1.0", "v1.1"):
        row = _row(html, tag)
        assert 'data-accessory-kind="signature"' in row and "signature ×2" in row  # cosign tag + OCI subject
        assert 'data-accessory-kind="sbom"' in row and 'data-accessory-kind="attestation"' in row
        assert f'data-accessory="{reference_tag(content.image.digest, ".sig")}"' in row
        assert f'data-accessory="{content.signature.digest}"' in row and "untagged" in row
        assert f"/projects/acme/repositories/app/-/artifacts/{accessories.sbom.digest}/" in row
    assert "accessory-chip" not in _row(html, "broken")


def test_referrers_index_tag_is_nested_under_its_subject(world, content, accessories):
    row = _row(world.client("guest").get(URL).content.decode(), "latest")

    assert 'data-accessory-kind="referrers"' in row and "referrers index" in row
    assert f'data-accessory="{reference_tag(content.index.digest)}"' in row


def test_artifact_with_a_subject_is_nested_under_its_subject_even_under_an_ordinary_tag(world, content, accessories):
    html = world.client("guest").get(URL).content.decode()

    for tag in ("v2.0", "v1x0"):
        row = _row(html, tag)
        assert 'data-accessory-kind="sbom"' in row and 'data-accessory="sbom-v2"' in row


def test_orphan_accessory_stays_in_the_list_marked_with_its_missing_subject(world, content, accessories):
    html = world.client("guest").get(URL).content.decode()

    row = _row(html, reference_tag(accessories.missing_subject, ".sig"))
    assert 'data-accessory-home="missing"' in row
    assert "accessory of missing" in row and accessories.missing_subject[:18] in row
    lonely = _row(html, reference_tag(accessories.lonely.digest, ".att"))
    assert 'data-accessory-home="untagged"' in lonely and "an untagged artifact" in lonely
    assert f"/-/artifacts/{accessories.lonely.digest}/" in lonely


def test_include_shows_accessory_tags_as_marked_rows_as_well(world, content, accessories):
    response = world.client("guest").get(URL, {"accessories": "include"})

    assert len(_names(response)) == Tag.objects.filter(repository=content.repository).count() == 13
    row = _row(response.content.decode(), reference_tag(content.image.digest, ".sig"))
    assert 'data-accessory-home="nested"' in row and "signature" in row


def test_only_lists_the_accessory_tags(world, content, accessories):
    response = world.client("guest").get(URL, {"accessories": "only"})

    assert set(_names(response)) == {
        reference_tag(content.image.digest, ".sig"),
        reference_tag(content.image.digest, ".sbom"),
        reference_tag(content.image.digest, ".att"),
        reference_tag(content.index.digest),
        "sbom-v2",
        reference_tag(accessories.missing_subject, ".sig"),
        reference_tag(accessories.lonely.digest, ".att"),
    }


def test_the_accessories_choice_is_in_the_filter_form_and_kept_by_htmx(world, content, accessories):
    client = world.client("guest")
    html = client.get(URL).content.decode()
    assert 'name="accessories"' in html and '<option value="exclude" selected>' in html

    partial = client.get(URL, {"accessories": "only"}, HTTP_HX_REQUEST="true")
    assert partial.context["accessory_mode"] == "only"
    assert "<html" not in partial.content.decode()


def test_a_bad_accessories_value_falls_back_to_nesting(world, content, accessories):
    response = world.client("guest").get(URL, {"accessories": "bogus"})

    assert "sbom-v2" not in _names(response)


def test_accessories_stay_out_of_a_glob_that_would_match_them(world, content, accessories):
    response = world.client("guest").get(URL, {"tag": "sha256-*"})

    assert sorted(_names(response)) == sorted(
        [reference_tag(accessories.missing_subject, ".sig"), reference_tag(accessories.lonely.digest, ".att")]
    )


@pytest.mark.parametrize(
    "name",
    [
        reference_tag(digest("x")),
        reference_tag(digest("x"), ".sig"),
        reference_tag(digest("x"), ".att"),
        reference_tag(digest("x"), ".sbom"),
        reference_tag(digest("x"), ".sig2"),
        reference_tag(digest("x"), ".SIG"),
        "sha256-" + "AB" * 32,
        "SHA256-" + "ab" * 32,  # the prefix compares case-sensitively on SQLite too (not its LIKE)
        "sha256_" + "ab" * 32,
        "sha256-" + "ab" * 31,
        "sha256-" + "ab" * 33,
        "sha256-" + "ab" * 31 + "ag",
        "sha256-" + "ab" * 32 + ".sigx",
        "sha256-" + "ab" * 30 + ".sbom",
        "sha256-" + "ab" * 32 + "sbom",
        "sha256-" + "ab" * 32 + ".sig.att",
        "sha512-" + "cd" * 32,  # (a whole sha512 tag is longer than a tag name may be)
        "sha256-latest",
        "sha256.sig",
        "v9.0",
    ],
)
def test_sql_and_python_agree_on_which_tags_are_accessories(world, content, name):
    Tag.objects.create(repository=content.repository, name=name, artifact=content.other)
    tags = Tag.objects.filter(repository=content.repository, name=name)

    expected = reference_subject(name)
    # The subject in SQL (string functions, no regex) for every name, as Python reads it.
    assert tags.annotate(subject=subject_expression()).get().subject == expected
    # The one-row rule (a regex) and the whole list's (name ranges and string functions).
    for repository in (None, content.repository):
        row = filter_accessories(tags, AccessoryMode.ONLY, repository).first()
        assert (row is not None) == (expected is not None), repository
        if row is not None:
            assert row.accessory_subject == expected
            assert kind_of_tag(name) is not None
        # No ordinary tag has `expected` as its artifact here: an accessory stays as an orphan.
        assert filter_accessories(tags, AccessoryMode.EXCLUDE, repository).count() == 1


def test_accessories_of_a_full_page_cost_one_query(world, django_assert_max_num_queries):
    from repositories.models import Artifact, Repository
    from tests.pages.test_repository_pages_queries import MAX_QUERIES

    repository = Repository.objects.create(project=world.private, name="acme/signed")
    images = Artifact.objects.bulk_create(
        Artifact(repository=repository, digest=digest(f"signed-{i}")) for i in range(120)
    )
    signatures = Artifact.objects.bulk_create(
        Artifact(repository=repository, digest=digest(f"sig-{i}")) for i in range(120)
    )
    Artifact.objects.bulk_create(
        Artifact(repository=repository, digest=digest(f"sbom-{i}"), subject_digest=image.digest, artifact_type="application/spdx+json")
        for i, image in enumerate(images)
    )
    Tag.objects.bulk_create(
        [Tag(repository=repository, name=f"v{i:03}", artifact=image) for i, image in enumerate(images)]
        + [Tag(repository=repository, name=reference_tag(image.digest, ".sig"), artifact=sig) for image, sig in zip(images, signatures)]
    )
    client = world.client("maintainer")
    first = client.get("/projects/acme/repositories/signed/")

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/projects/acme/repositories/signed/" + dict(first.context["page_links"])["Next"])

    assert response.context["total"].count == 120
    rows = response.context["page"].rows
    assert all([a.kind.value for a in row.accessories] == ["signature", "sbom"] for row in rows)


def _lookalikes_and_checked(repository: Repository) -> tuple[set[str], set[str]]:
    """The `exclude` rows by the cached look-alike ids and by checking each tag (given the
    repository's pk, `filter_accessories` does not ask the cache)."""
    tags = Tag.objects.filter(repository=repository)
    by_ids = set(filter_accessories(tags, AccessoryMode.EXCLUDE, repository).values_list("name", flat=True))
    checked = set(filter_accessories(tags, AccessoryMode.EXCLUDE, repository.pk).values_list("name", flat=True))
    return by_ids, checked


def test_the_lookalike_rows_give_the_rows_that_checking_each_tag_gives(world, content, accessories):
    # Names that start as a reference tag does but are not one are rows as any tag is.
    for name in ("sha256-latest", "sha256-" + "ab" * 31 + "ag", "sha512-" + "cd" * 32 + ".sig2"):
        Tag.objects.create(repository=content.repository, name=name, artifact=content.other)
    refresh_repository_counts(content.repository)
    repository = Repository.objects.get(pk=content.repository.pk)
    orphans = {reference_tag(accessories.missing_subject, ".sig"), reference_tag(accessories.lonely.digest, ".att")}
    lookalikes = orphans | {"sha256-latest", "sha256-" + "ab" * 31 + "ag", "sha512-" + "cd" * 32 + ".sig2"}

    ids = lookalike_rows(repository)
    assert ids is not None and set(Tag.objects.filter(pk__in=ids).values_list("name", flat=True)) == lookalikes
    by_ids, checked = _lookalikes_and_checked(repository)
    assert by_ids == checked == set(ORDINARY) | lookalikes
    # The nested ones (which the count takes away) agree too.
    tags = Tag.objects.filter(repository=repository)
    nested = set(nested_accessories(tags, repository).values_list("name", flat=True))
    assert nested == set(nested_accessories(tags, repository.pk).values_list("name", flat=True))
    assert nested == set(tags.values_list("name", flat=True)) - by_ids


def test_more_lookalike_rows_than_it_remembers_and_each_tag_is_checked(world, content, accessories, monkeypatch):
    monkeypatch.setattr(accessory_rules, "LOOKALIKE_ROWS_REMEMBERED", 1)
    repository = Repository.objects.get(pk=content.repository.pk)

    assert lookalike_rows(repository) is None
    by_ids, checked = _lookalikes_and_checked(repository)
    assert by_ids == checked and reference_tag(accessories.missing_subject, ".sig") in by_ids


def _delete_event(tag: str, digest: str) -> dict:
    target = {"repository": "acme/app", "tag": tag, "digest": digest}
    return {"events": [{"id": f"delete:{tag}", "action": "delete", "target": target, "actor": {"name": "alice"}}]}


def test_a_list_read_after_the_tags_change_sees_the_change(world, content, accessories):
    """The look-alike rows are cached under the repository's `updated_at`: a notification that
    deletes the subject's tags makes its signature an orphan, a row of the next page."""
    client = world.client("guest")
    signature = reference_tag(content.image.digest, ".sig")
    assert signature not in _names(client.get(URL))

    for tag in ("v1.0", "v1.1"):
        assert handle_notification(_delete_event(tag, content.image.digest)).handled == 1

    response = client.get(URL)
    assert signature in _names(response)
    assert 'data-accessory-home="untagged"' in _row(response.content.decode(), signature)
