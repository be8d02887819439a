"""What webhooks add to the notification path: the registry's push events applied by
`handle_notification` with no webhook, with webhooks that do not subscribe, and with
one that does (a delivery row per event; the HTTP work is Celery's, not measured here,
so the task's enqueue is replaced by a no-op).

    .venv/bin/python benchmarks/webhook_emit_bench.py [--events 400]

Prints the time per event for each case, the ratio to the case without webhooks, and
the load average (other work on the machine moves the figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import setup_django

DIGEST = "sha256:" + "c" * 64


def _events(n: int, repository: str) -> dict[str, object]:
    return {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "timestamp": "2026-12-01T10:00:00Z",
                "action": "push",
                "target": {
                    "repository": repository,
                    "digest": DIGEST,
                    "tag": f"t{i}",
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "size": 500,
                },
                "actor": {"name": "bench"},
            }
            for i in range(n)
        ]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        label = setup_django(Path(workdir))
        from django.test import override_settings

        from audit.context import Actor
        from repositories.services.events import handle_notification
        from repositories.services.projects import create_project
        from webhooks import services, tasks
        from webhooks.models import Delivery

        tasks.deliver.delay = lambda *a, **k: None  # type: ignore[method-assign]
        actor = Actor.system("bench")
        cases = [("no webhooks", "none"), ("3 webhooks, none subscribed", "other"), ("1 subscribed webhook", "sub")]
        results: list[tuple[str, float]] = []
        with override_settings(WHARF_WEBHOOKS_ALLOW_PRIVATE=True):
            for title, name in cases:
                project = create_project(actor=actor, name=name, is_public=False, description="")
                if name == "other":
                    for i in range(3):
                        services.create_webhook(
                            actor=actor, project=project, name=f"w{i}", url="http://127.0.0.1:9/", events=["scan.failed"]
                        )
                if name == "sub":
                    services.create_webhook(
                        actor=actor, project=project, name="w", url="http://127.0.0.1:9/", events=["artifact.pushed"]
                    )
                handle_notification(_events(20, f"{name}/warm"))  # warm caches and the repository row
                started = time.perf_counter()
                outcome = handle_notification(_events(args.events, f"{name}/app"))
                seconds = time.perf_counter() - started
                assert outcome.handled == args.events, outcome
                results.append((title, seconds / args.events * 1000))
        deliveries = Delivery.objects.filter(webhook__project__name="sub").count()
        print(f"database: {label}; {args.events} push events per case; deliveries recorded: {deliveries}")
        base = results[0][1]
        for title, ms in results:
            print(f"  {title:32s} {ms:7.3f} ms/event   x{ms / base:.2f}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
