"""Fixtures for kb's tests: five small runbooks whose search ranking order is asserted on
both databases, and the default synonym groups (a transactional test's flush empties them)."""

import pytest

SEARCH_RUNBOOKS = {
    "networking/tls-expiry.md": """# Debug: TLS Certificate Expired

Clients refuse the service's certificate after its validity ends.

## Symptom
Clients fail with `x509: certificate has expired or is not yet valid` and browsers show a
privacy warning.

## Likely Causes
1. Renewal job failed — cert-manager could not complete the ACME challenge
2. Old certificate still served — the load balancer was not reloaded

## First Checks
1. Read the expiry date — `openssl s_client -connect host:443` shows notAfter
""",
    "cloud/pod-crashloop.md": """---
alerts: [KubePodCrashLooping]
tags: [kubernetes, pods]
---
# Debug: Pods Crash Looping

Containers exit again and again shortly after they start.

## Symptom
The container exits shortly after start and kubelet backs off before the next attempt.

## Likely Causes
1. Missing configuration — the container exits on startup when a setting is absent
2. Memory limit too low — the kernel kills the process when it grows

## First Checks
1. Describe the pod — look at Last State and the exit code
""",
    "storage/disk-full.md": """---
tags: [disk]
---
# Debug: Database Host Disk Full

Writes stop when the data volume has no free space.

## Symptom
PostgreSQL logs `could not write to file: No space left on device` and inserts fail.

## Likely Causes
1. WAL retained by a stale replication slot — an inactive slot pins old segments
2. Log files never rotated — logrotate stopped after an upgrade

## First Checks
1. Check free space — `df -h` on the data volume
""",
    "cloud/bad-release.md": """---
tags: [kubernetes, deploy]
---
# Debug: Error Spike After Deploy

Responses start failing as soon as a new version is live.

## Symptom
HTTP 502 and 503 responses climb within minutes of a release reaching production.

## Likely Causes
1. Broken build shipped — the new version fails on a code path the tests missed
2. Config drift — the release expects a setting that production lacks

## Fix Patterns
1. Revert the deploy to the previous version, then investigate
""",
    "networking/duplicate-mac.md": """# Debug: Duplicate MAC Address

Two machines answer for the same hardware address.

## Symptom
Two virtual machines share one MAC address; ARP tables flap and connections drop at random.

## Likely Causes
1. Cloned VM template — the clone kept the template's network interface address
""",
}


@pytest.fixture
def search_corpus(db, default_synonyms):
    """The five runbooks, imported through the real service; slugs without ``.md``."""
    from kb.services import runbooks_import
    from kb.sources import SourceFile

    return runbooks_import(
        sources=[
            SourceFile(path, path.removesuffix(".md"), text.encode())
            for path, text in SEARCH_RUNBOOKS.items()
        ]
    )
