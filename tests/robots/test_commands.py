"""The shell commands the pages show: exact, quoted, and about the right host."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from accounts.registry_commands import is_local_host, login_commands, pull_commands, push_commands


def test_robot_login_name_is_single_quoted_so_the_shell_keeps_the_dollar() -> None:
    docker, skopeo = login_commands("robot$acme+ci", "registry.example:5000")
    assert docker.text == "docker login registry.example:5000 -u 'robot$acme+ci'"
    assert skopeo.text == "skopeo login --tls-verify=false registry.example:5000 -u 'robot$acme+ci'"
    assert shlex.split(docker.text)[-1] == "robot$acme+ci"


def test_plain_usernames_stay_unquoted() -> None:
    assert login_commands("alice", "h:5000")[0].text == "docker login h:5000 -u alice"


def test_push_commands_name_the_project_and_host() -> None:
    texts = [command.text for command in push_commands("acme", "h:5000")]
    assert texts == [
        "docker login h:5000",
        "docker tag local-image h:5000/acme/my-image:latest",
        "docker push h:5000/acme/my-image:latest",
        "skopeo login --tls-verify=false h:5000",
        "skopeo copy --dest-tls-verify=false oci:./layout:latest docker://h:5000/acme/my-image:latest",
    ]


def test_pull_commands_only_read() -> None:
    texts = " ".join(command.text for command in pull_commands("pub", "h:5000"))
    assert "docker pull h:5000/pub/my-image:latest" in texts
    assert "push" not in texts


def test_host_defaults_to_the_registry_public_host(settings: Any) -> None:
    settings.REGISTRY_PUBLIC_HOST = "registry.example.org"
    assert login_commands("alice")[0].text == "docker login registry.example.org -u alice"


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("registry.localhost:5000", True),
        ("10.0.0.5:5000", False),
        ("registry.example.org", False),
    ],
)
def test_loopback_hosts_need_no_insecure_registry_entry(host: str, local: bool) -> None:
    assert is_local_host(host) is local
