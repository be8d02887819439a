"""Index children, signatures and referrers follow their parent or subject."""

from __future__ import annotations

from repositories.retention import ReasonCode, Tag, Template, reference_subject

from .builders import art, decision, deleted, digest, kept, rule, run, sig_tag


def _index_with_children(label: str, tag: str, pushed: float) -> list:
    index = art(label, tag, pushed=pushed)
    return [
        index,
        art(f"{label}-amd64", pushed=pushed, parents=(index.digest,)),
        art(f"{label}-arm64", pushed=pushed, parents=(index.digest,)),
    ]


def test_index_children_stay_with_a_kept_index() -> None:
    artifacts = _index_with_children("idx", "v1", pushed=1)
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=artifacts)
    assert kept(result) == {"idx", "idx-amd64", "idx-arm64"}
    child = decision(result, "idx-amd64")
    assert child.code is ReasonCode.WITH_OWNER
    assert child.reason == f"kept with its parent {digest('idx')}"


def test_index_children_are_deleted_with_their_index() -> None:
    artifacts = _index_with_children("old", "v1", pushed=30) + _index_with_children("new", "v2", pushed=1)
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=artifacts)
    assert deleted(result) == {"old", "old-amd64", "old-arm64"}
    assert decision(result, "old-arm64").reason == f"deleted with its parent {digest('old')}"


def test_untagged_children_are_not_candidates_for_untagged_rules() -> None:
    # An "untagged within 0 days" style rule must not pick off children of a kept index
    # nor keep children of a deleted one.
    artifacts = _index_with_children("old", "v1", pushed=30) + _index_with_children("new", "v2", pushed=1)
    result = run(
        rule(Template.LATEST_PUSHED_N, 1, ("**",)),
        rule(Template.ALWAYS, None, (), untagged=True),
        artifacts=artifacts,
    )
    assert deleted(result) == {"old", "old-amd64", "old-arm64"}


def test_a_child_shared_by_two_indexes_stays_while_either_stays() -> None:
    old = art("old", "v1", pushed=30)
    new = art("new", "v2", pushed=1)
    shared = art("shared", pushed=30, parents=(old.digest, new.digest))
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=[old, new, shared])
    assert kept(result) == {"new", "shared"}
    assert decision(result, "shared").owner == new.digest


def test_a_cosign_signature_stays_with_its_image_and_goes_with_it() -> None:
    keep_me = art("keep", "v2", pushed=1)
    drop_me = art("drop", "v1", pushed=30)
    sig_keep = art("sig-keep", sig_tag("keep"), pushed=1)
    sig_drop = art("sig-drop", sig_tag("drop"), pushed=1)
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=[keep_me, drop_me, sig_keep, sig_drop])
    assert kept(result) == {"keep", "sig-keep"}
    assert decision(result, "sig-keep").reason == f"kept with its subject {digest('keep')}"
    assert decision(result, "sig-drop").reason == f"deleted with its subject {digest('drop')}"


def test_signature_tags_never_match_tag_patterns() -> None:
    # `**` would match `sha256-….sig` as a name; the signature must still not count as a
    # candidate, or a "latest 1" rule could keep a signature instead of an image.
    image = art("image", "v1", pushed=30)
    signature = art("sig", sig_tag("image"), pushed=1)
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=[image, signature])
    assert kept(result) == {"image", "sig"}
    assert decision(result, "image").code is ReasonCode.RETAINED


def test_referrers_with_a_subject_follow_their_subject() -> None:
    image = art("image", "v1", pushed=30)
    newer = art("newer", "v2", pushed=1)
    sbom = art("sbom", pushed=1, subject=image.digest)
    referrers_tag = art("attestation", "sha256-" + image.digest.split(":")[1], pushed=1)
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=[image, newer, sbom, referrers_tag])
    assert deleted(result) == {"image", "sbom", "attestation"}
    assert decision(result, "sbom").reason == f"deleted with its subject {digest('image')}"


def test_a_signature_of_an_index_child_follows_the_chain() -> None:
    index = art("idx", "v1", pushed=30)
    child = art("child", pushed=30, parents=(index.digest,))
    child_sig = art("child-sig", sig_tag("child"), pushed=30)
    newer = art("newer", "v2", pushed=1)
    artifacts = [index, child, child_sig, newer]
    assert deleted(run(rule(Template.LATEST_PUSHED_N, 1), artifacts=artifacts)) == {
        "idx",
        "child",
        "child-sig",
    }
    assert kept(run(rule(Template.LATEST_PUSHED_N, 2), artifacts=artifacts)) == {
        "idx",
        "child",
        "child-sig",
        "newer",
    }


def test_a_child_with_its_own_tag_is_a_candidate_and_may_be_retained_alone() -> None:
    index = art("idx", "v1", pushed=30)
    child = art("child", "v1-amd64", pushed=30, parents=(index.digest,))
    result = run(rule(Template.ALWAYS, None, ("*-amd64",)), artifacts=[index, child])
    assert kept(result) == {"child"}
    assert deleted(result) == {"idx"}


def test_a_tagged_child_not_retained_still_stays_with_its_kept_index() -> None:
    index = art("idx", "v1", pushed=1)
    child = art("child", "v1-amd64", pushed=1, parents=(index.digest,))
    result = run(rule(Template.ALWAYS, None, ("v1",)), artifacts=[index, child])
    assert kept(result) == {"idx", "child"}
    assert decision(result, "child").code is ReasonCode.WITH_OWNER


def test_an_orphan_signature_is_judged_on_its_own_as_untagged() -> None:
    orphan = art("orphan-sig", sig_tag("gone"), pushed=1)
    image = art("image", "v1", pushed=1)
    result = run(rule(Template.ALWAYS, None, ("**",)), artifacts=[orphan, image])
    assert deleted(result) == {"orphan-sig"}
    assert decision(result, "orphan-sig").code is ReasonCode.NOT_RETAINED
    result = run(rule(Template.ALWAYS, None, ("**",), untagged=True), artifacts=[orphan, image])
    assert deleted(result) == set()


def test_a_parent_in_another_repository_does_not_count() -> None:
    index = art("idx", "v1", repo="other", pushed=1)
    child = art("child", pushed=1, parents=(index.digest,))
    result = run(rule(Template.ALWAYS, None, ("**",), untagged=True), artifacts=[index, child])
    assert decision(result, "child").code is ReasonCode.RETAINED


def test_a_reference_cycle_without_a_kept_member_is_deleted_consistently() -> None:
    a = art("a", pushed=1, parents=(digest("b"),))
    b = art("b", pushed=1, subject=digest("a"))
    image = art("image", "v1", pushed=1)
    result = run(rule(Template.ALWAYS, None, ("**",)), artifacts=[a, b, image])
    assert deleted(result) == {"a", "b"}


def test_reference_subject_recognises_cosign_and_referrers_tags() -> None:
    hex64 = "ab" * 32
    assert reference_subject(f"sha256-{hex64}.sig") == f"sha256:{hex64}"
    assert reference_subject(f"sha256-{hex64}.att") == f"sha256:{hex64}"
    assert reference_subject(f"sha256-{hex64}.sbom") == f"sha256:{hex64}"
    assert reference_subject(f"sha256-{hex64}") == f"sha256:{hex64}"
    assert reference_subject(f"sha512-{'cd' * 64}.sig") == f"sha512:{'cd' * 64}"
    assert reference_subject(f"sha256-{hex64}.tar") is None
    assert reference_subject("sha256-abc.sig") is None
    assert reference_subject("v1.0") is None


def test_a_protected_signature_keeps_only_itself() -> None:
    image = art("image", "v1", pushed=30)
    newer = art("newer", "v2", pushed=1)
    signature = art("sig", Tag(sig_tag("image"), protected_by=4), pushed=30)
    result = run(rule(Template.LATEST_PUSHED_N, 1), artifacts=[image, newer, signature])
    assert deleted(result) == {"image"}
    assert decision(result, "sig").code is ReasonCode.PROTECTED
