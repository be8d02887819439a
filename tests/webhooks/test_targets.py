"""SSRF: which URLs a webhook may target; every address of a host is checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from audit.context import Actor
from tests.factories import ProjectFactory
from webhooks import services
from webhooks.targets import MAX_URL_LENGTH, TargetRefused, check_target, first_refusal, refused_address

ACTOR = Actor.system("test")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "224.0.0.1"],
)
def test_loopback_private_link_local_and_multicast_addresses_are_refused(address: str) -> None:
    assert refused_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refused_address(address) is None


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    assert first_refusal(["1.1.1.1", "10.0.0.1"]) == "10.0.0.1 is a private or reserved address"
    assert first_refusal(["1.1.1.1", "8.8.8.8"]) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "Only http:// and https://"),
        ("http:///path", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("http://example.com:99999/", "Not a URL"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "At most"),
        ("http://localhost:8080/hook", "loopback"),
        ("http://127.0.0.1/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://10.0.0.5/hook", "private"),
        ("http://no-such-host.invalid/hook", "cannot be resolved"),
    ],
)
def test_bad_targets_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(TargetRefused, match=message):
        check_target(url, allow_private=False)


def test_the_setting_allows_private_targets(settings: Any) -> None:
    settings.WHARF_WEBHOOKS_ALLOW_PRIVATE = True
    check_target("http://127.0.0.1:8080/hook")
    with pytest.raises(TargetRefused):
        check_target("gopher://127.0.0.1/")  # the scheme rule still holds


@pytest.mark.django_db
def test_the_service_refuses_a_loopback_target_on_the_url_field() -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_webhook(
            actor=ACTOR, project=ProjectFactory(), name="x", url="http://127.0.0.1/hook", events=["artifact.pushed"]
        )
    assert "url" in caught.value.message_dict


@pytest.mark.django_db
def test_the_service_needs_known_events_and_a_name(settings: Any) -> None:
    settings.WHARF_WEBHOOKS_ALLOW_PRIVATE = True
    with pytest.raises(ValidationError) as caught:
        services.create_webhook(actor=ACTOR, project=ProjectFactory(), name=" ", url="http://127.0.0.1/", events=["nope"])
    assert set(caught.value.message_dict) == {"name", "events"}
