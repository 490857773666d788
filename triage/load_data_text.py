"""Synthetic runbook text for load tests (issue 9). Pure: no ORM, no I/O.

``runbook_files(count, seed)`` writes ``count`` runbooks in the two authored forms the
importer reads (the seed's plain form and the Markdown source form with front matter),
deterministically for a seed. Every runbook has patterns, ranked causes, first checks whose
words overlap the causes they confirm (so the importer proposes cause links), fix patterns,
drill paths and connections among the generated runbooks — a few pointing at runbooks that
do not exist — and most have a "When This Is Not the Issue" gate with a pivot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.utils.text import slugify


@dataclass(frozen=True)
class FailureMode:
    cause: str
    cause_detail: str
    observation: str
    diagnosis: str
    check: str
    check_detail: str
    minutes: int
    fix: str
    signal: str


# Cause, pattern and check of one failure mode share words, as they do in real runbooks.
FAILURE_MODES: tuple[FailureMode, ...] = (
    FailureMode(
        "Bad configuration shipped in the release",
        "a renamed or missing configuration key makes {comp} fail on every request",
        "Errors on all endpoints immediately after the release",
        "Configuration key missing or renamed in the release",
        "Diff the release configuration against the last good release",
        "compare rendered configuration keys and values of {comp} between the two releases",
        3,
        "Roll back the release — restore service first, then fix the configuration key",
        "{comp} logs 'missing configuration key DATABASE_URL' on every request after deploy",
    ),
    FailureMode(
        "Connection pool exhausted under load",
        "{comp} holds database connections longer than the pool allows, requests queue",
        "Timeouts waiting for a connection from the pool",
        "Connection pool exhausted — slow queries or leaked connections",
        "Read connection pool metrics",
        "active versus maximum pool connections and wait time on the {comp} dashboard",
        2,
        "Raise the pool size only after fixing the leak — cap connection hold time",
        "pool wait time on {comp} climbs to 30 s while active connections sit at the maximum",
    ),
    FailureMode(
        "Memory leak in the new version",
        "heap or resident memory of {comp} grows without bound until the OOM killer ends it",
        "Memory grows steadily and instances restart with OOMKilled",
        "Memory leak — the working set never returns to baseline",
        "Graph resident memory per instance since the deploy",
        "a steady climb of {comp} memory between restarts points at a leak",
        3,
        "Restart on a schedule as a stopgap — take a heap profile and fix the leak",
        "{comp} resident memory climbs 40 MB per hour and pods restart with OOMKilled",
    ),
    FailureMode(
        "Slow database query after a schema change",
        "a dropped or unused index turns a hot query of {comp} into a full table scan",
        "Latency up on endpoints that read one table",
        "Slow query — missing index or changed query plan",
        "Inspect slow query log and query plan",
        "EXPLAIN the top statements by total time; look for sequential scans on large tables",
        5,
        "Add the missing index concurrently — then confirm the query plan uses it",
        "p99 of {comp} /orders rises from 80 ms to 2 s; the slow query log shows a seq scan",
    ),
    FailureMode(
        "Downstream dependency degraded",
        "an upstream service that {comp} calls answers slowly or with errors",
        "Errors only on endpoints that call one downstream service",
        "Downstream dependency failing — errors propagate up the call chain",
        "Check downstream dependency error rate and latency",
        "per-dependency client metrics or traces show which downstream call of {comp} fails",
        3,
        "Open the circuit breaker for the failing downstream dependency and serve a fallback",
        "traces of {comp} show 95% of failed requests waiting on the inventory dependency",
    ),
    FailureMode(
        "Retry storm amplifying a small failure",
        "clients retry without backoff so {comp} receives several times its normal traffic",
        "Request rate several times normal while success rate drops",
        "Retry storm — retries without backoff or jitter",
        "Compare request rate with retry counters",
        "a request rate far above user traffic and high retry counters mean retries amplify load",
        2,
        "Add exponential backoff with jitter and a retry budget to the clients",
        "{comp} receives 5x its usual request rate; client retry counters are at their maximum",
    ),
    FailureMode(
        "Certificate expired or not trusted",
        "a TLS certificate on the path to {comp} expired or its chain is incomplete",
        "TLS handshake failures from every client at the same time",
        "Certificate expired or certificate chain broken",
        "Inspect the served certificate and its expiry",
        "openssl s_client shows the certificate chain and expiry date that {comp} serves",
        2,
        "Renew the certificate and automate rotation with an expiry alert 21 days ahead",
        "clients of {comp} fail with 'certificate has expired' starting exactly at 00:00 UTC",
    ),
    FailureMode(
        "DNS resolution failing or slow",
        "the resolver used by {comp} times out or returns stale records after a change",
        "Intermittent name resolution errors in application logs",
        "DNS resolution timing out or returning stale records",
        "Resolve the service name from an affected instance",
        "dig the dependency name from inside {comp} and compare answers and resolution time",
        3,
        "Lower DNS TTLs before migrations and cache resolution results in the client",
        "{comp} logs 'temporary failure in name resolution' for 8% of outgoing calls",
    ),
    FailureMode(
        "Disk full on the data volume",
        "logs or data filled the volume of {comp} and writes start failing",
        "Write errors with no space left on device",
        "Disk full — data volume or log volume exhausted",
        "Check disk usage on the data volume",
        "df and du on the {comp} data and log volumes; find the largest growing directory",
        2,
        "Free space by rotating logs, then expand the volume and alert at 80% disk usage",
        "{comp} returns 500 with 'No space left on device' once the data volume hits 100%",
    ),
    FailureMode(
        "CPU throttling from a low limit",
        "the CPU limit of {comp} is below its real usage so the scheduler throttles it",
        "Latency rises with CPU throttled periods while CPU usage looks modest",
        "CPU throttling — the limit is below real CPU usage",
        "Read CPU throttling counters per container",
        "throttled periods and CPU usage against the limit of the {comp} containers",
        3,
        "Raise or remove the CPU limit and size requests from observed CPU usage",
        "{comp} containers spend 60% of periods throttled at a CPU limit of 500m",
    ),
    FailureMode(
        "Queue consumers falling behind",
        "{comp} consumers process messages slower than producers publish them",
        "Queue depth and consumer lag grow steadily",
        "Consumers falling behind — lag grows faster than it drains",
        "Graph consumer lag and processing rate per partition",
        "consumer lag per partition of {comp} and the time each message takes to process",
        3,
        "Scale consumers up to the partition count and make processing idempotent",
        "consumer lag of {comp} grows by 20,000 messages per minute on every partition",
    ),
    FailureMode(
        "Poison message blocking a partition",
        "one message that {comp} cannot process is retried forever and blocks the partition",
        "Lag grows on a single partition while others drain",
        "Poison message — one partition stuck on the same offset",
        "Find the partition stuck on the same offset",
        "committed offset per partition of {comp}; a stuck offset names the poison message",
        4,
        "Move the poison message to a dead letter queue after a bounded number of retries",
        "partition 7 of {comp} has sat on the same offset for an hour with the same error",
    ),
    FailureMode(
        "Replication lag on the replica",
        "the replica that {comp} reads from falls behind the primary during heavy writes",
        "Users see stale reads shortly after writing",
        "Replication lag — reads served from a replica behind the primary",
        "Read replication lag on the replicas",
        "seconds behind primary for each replica {comp} reads from, against write volume",
        2,
        "Route read-your-writes traffic to the primary and alert on replication lag",
        "replica lag for {comp} reaches 45 s during the nightly batch and users see stale reads",
    ),
    FailureMode(
        "Lock contention on a hot row",
        "many {comp} transactions update the same rows and wait on each other's locks",
        "Write latency spikes while CPU stays low",
        "Lock contention — transactions waiting on row locks",
        "List blocked transactions and lock waits",
        "pg_stat_activity or the engine's lock views show which {comp} statements wait on locks",
        4,
        "Shorten transactions and update hot counters asynchronously to cut lock contention",
        "{comp} transactions wait on row locks for up to 9 s on the account balance row",
    ),
    FailureMode(
        "Cache stampede after a flush",
        "many {comp} requests miss the cache at once and all hit the database",
        "Database load spikes right after a cache flush or deploy",
        "Cache stampede — a cold cache sends every miss to the database",
        "Compare cache hit ratio with database load",
        "a falling cache hit ratio on {comp} that lines up with the database load spike",
        2,
        "Warm the cache before switching traffic and use request coalescing for misses",
        "cache hit ratio of {comp} drops from 97% to 10% and database CPU reaches 100%",
    ),
    FailureMode(
        "Rate limit reached at a provider",
        "{comp} exceeded an external provider's rate limit or quota",
        "HTTP 429 responses from a third-party API",
        "Rate limit or quota reached at the provider",
        "Read provider rate limit headers and quota usage",
        "rate limit remaining headers and the quota dashboard for the account {comp} uses",
        2,
        "Batch and cache provider calls and request a higher rate limit or quota",
        "{comp} receives 429 Too Many Requests from the payment provider after 10:00 UTC",
    ),
    FailureMode(
        "Load balancer health checks failing",
        "health checks mark healthy {comp} instances down so capacity collapses",
        "Intermittent 502 or 503 from the load balancer",
        "Health checks failing — instances removed from the load balancer",
        "Inspect load balancer target health",
        "which {comp} targets the load balancer marks unhealthy and the health check reason",
        2,
        "Make the health check cheap and independent of downstream dependencies",
        "the load balancer marks half of the {comp} targets unhealthy with health check timeouts",
    ),
    FailureMode(
        "Feature flag turned on for everyone",
        "a flag enabled a half-finished code path in {comp} for all users",
        "Errors only for requests that take a new code path",
        "Feature flag enabled too widely — new code path failing",
        "Review recent feature flag changes",
        "the flag audit log around the start of the errors in {comp}",
        2,
        "Turn the feature flag off and roll it out by percentage with an error budget",
        "{comp} errors start one minute after the new-checkout feature flag went to 100%",
    ),
    FailureMode(
        "Clock skew between hosts",
        "the clock of a {comp} host drifted so tokens and signatures look expired",
        "Authentication failures on some hosts only",
        "Clock skew — tokens rejected as expired or not yet valid",
        "Compare host clocks and time sync status",
        "chronyc tracking or timedatectl on the {comp} hosts; offsets beyond a second matter",
        3,
        "Fix time synchronisation and allow a small clock skew leeway in token validation",
        "one {comp} host is 4 minutes ahead and rejects every token as not yet valid",
    ),
    FailureMode(
        "Secret rotated without a reload",
        "a rotated password or API key was not reloaded by {comp}, which keeps the old secret",
        "Authentication errors against a dependency after a secret rotation",
        "Secret rotated but the old secret is still in use",
        "Compare the secret version in use with the current secret",
        "the secret version mounted in {comp} against the version in the secret store",
        3,
        "Reload secrets on rotation and keep the old secret valid for an overlap window",
        "{comp} fails with 'password authentication failed' ten minutes after a rotation",
    ),
    FailureMode(
        "Network partition between zones",
        "packets between availability zones are dropped so {comp} replicas cannot talk",
        "Timeouts only between instances in different zones",
        "Network partition — cross-zone traffic dropped",
        "Test connectivity between zones from both sides",
        "mtr and TCP connect tests between {comp} instances in each pair of zones",
        5,
        "Fail traffic away from the impaired zone and make cross-zone calls tolerate loss",
        "{comp} calls from zone a to zone c time out while calls within each zone succeed",
    ),
    FailureMode(
        "Thread pool or worker saturation",
        "all worker threads of {comp} are busy waiting so new requests queue",
        "Latency climbs while CPU is idle and requests queue",
        "Worker saturation — every worker thread blocked on slow I/O",
        "Take a thread dump or worker status snapshot",
        "a thread dump of {comp} shows what the busy worker threads are waiting on",
        4,
        "Bound waiting with timeouts and move slow I/O off the request worker threads",
        "all 64 worker threads of {comp} are blocked on a socket read to the same host",
    ),
    FailureMode(
        "Garbage collection pauses",
        "the heap of {comp} is too small or too fragmented so long GC pauses stop requests",
        "Latency spikes every few minutes in a sawtooth pattern",
        "GC pauses — stop-the-world collections block requests",
        "Read garbage collection pause times",
        "GC logs or runtime metrics of {comp}: pause duration, frequency and heap after GC",
        3,
        "Size the heap from live data and switch to a low-pause garbage collector",
        "{comp} shows 1.8 s GC pauses every 3 minutes, lining up with the latency spikes",
    ),
    FailureMode(
        "Schema migration locked a table",
        "a migration of {comp} took an exclusive lock on a busy table",
        "Requests touching one table hang during a deploy",
        "Schema migration holding an exclusive lock",
        "Look for running migrations and their locks",
        "the migration job log and lock views while the {comp} requests hang",
        3,
        "Run schema migration in small steps with lock timeouts — add columns without defaults",
        "{comp} requests on the orders table hang for 4 minutes while a migration adds a column",
    ),
    FailureMode(
        "Autoscaling too slow for the spike",
        "traffic rose faster than {comp} could scale and instances saturated",
        "Errors during traffic spikes that clear once new instances arrive",
        "Autoscaling lag — capacity arrives after the spike",
        "Compare instance count with request rate over time",
        "when autoscaling added {comp} instances versus when the traffic spike began",
        3,
        "Scale on a leading metric, keep warm headroom and pre-scale for known events",
        "{comp} took 9 minutes to scale from 6 to 20 instances while the spike lasted 5",
    ),
    FailureMode(
        "Image or artifact mismatch",
        "the deployed image of {comp} is not the artifact that was tested",
        "Only some instances fail after the deploy",
        "Image mismatch — instances run different artifacts",
        "Compare image digests across instances",
        "the running image digest of every {comp} instance against the release manifest",
        2,
        "Pin images by digest and deploy the same artifact that passed the tests",
        "two {comp} instances run an image digest that no release manifest mentions",
    ),
    FailureMode(
        "Log or metrics pipeline dropping data",
        "the agent shipping {comp} telemetry is overloaded and drops data",
        "Gaps in dashboards while the service itself seems fine",
        "Telemetry pipeline dropping data — gaps, not an outage",
        "Check agent drop counters and pipeline backlog",
        "the shipping agent's dropped and queued counters on the {comp} hosts",
        2,
        "Add buffering to the pipeline agent and alert on its drop counters",
        "dashboards for {comp} show gaps of 5 minutes while the agent reports dropped batches",
    ),
    FailureMode(
        "Kernel or node problem",
        "one node running {comp} has a failing disk, NIC or kernel bug",
        "Errors concentrated on instances scheduled on one node",
        "Bad node — hardware or kernel fault on a single host",
        "Group errors by node",
        "break {comp} errors down by host or node; one node standing out points at the node",
        2,
        "Cordon and drain the bad node, then replace it",
        "all failing {comp} requests are served from node ip-10-3-4-17 with NIC resets in dmesg",
    ),
    FailureMode(
        "Traffic routed to the old version",
        "a stale route or selector sends part of the traffic to retired {comp} instances",
        "A fraction of requests behave like the previous release",
        "Traffic still routed to old instances",
        "Trace which version served the failing requests",
        "a version header or trace attribute shows which {comp} release answered",
        3,
        "Fix routing selectors and drain the old instances before deleting them",
        "10% of {comp} responses carry the version header of the previous release",
    ),
    FailureMode(
        "File descriptor limit reached",
        "{comp} runs out of file descriptors and cannot open sockets or files",
        "Accept errors with too many open files",
        "File descriptor limit reached — sockets or files leaking",
        "Count open file descriptors per process",
        "ls /proc/PID/fd or lsof on {comp} against its open file limit",
        2,
        "Raise the open file limit and close leaked sockets",
        "{comp} logs 'too many open files' with 65,536 descriptors open, most of them sockets",
    ),
    FailureMode(
        "Bad data from a batch job",
        "a batch job wrote malformed or duplicate records that {comp} cannot read",
        "Errors for a subset of records or customers only",
        "Bad data — malformed records written by a batch job",
        "Query the failing records for malformed data",
        "compare the records {comp} fails on with the last batch job run",
        5,
        "Quarantine the malformed records, fix the batch job and add validation on write",
        "{comp} fails for 2,300 customers whose records the nightly batch job rewrote",
    ),
    FailureMode(
        "Ingress or proxy timeout too short",
        "the proxy in front of {comp} cuts requests that take longer than its timeout",
        "Requests fail at a suspiciously round duration like 30 or 60 seconds",
        "Proxy timeout shorter than the slowest legitimate requests",
        "Compare failed request durations with proxy timeout settings",
        "a spike of failures at exactly the proxy timeout in the {comp} access logs",
        2,
        "Align proxy timeout settings along the chain and make long operations asynchronous",
        "failed {comp} requests all last 60.0 s in the ingress access logs",
    ),
)

GENERAL_CHECKS = (
    (
        "Read the error logs of the failing instances",
        "the first error after the start of the incident usually names the failing part",
        2,
    ),
    (
        "Compare dashboards before and after the last change",
        "request rate, errors and latency around the deploy or configuration change",
        2,
    ),
    (
        "Review the recent changes timeline",
        "deploys, flags, infrastructure and provider changes in the hour before the alert",
        4,
    ),
)

CATEGORIES: dict[str, tuple[str, ...]] = {
    "cloud": (
        "Kubernetes Cluster",
        "Load Balancer",
        "Autoscaling Group",
        "Object Storage",
        "Service Mesh",
        "Serverless Functions",
        "Container Registry",
    ),
    "networking": (
        "DNS Resolver",
        "TLS Termination",
        "VPN Tunnel",
        "CDN Edge",
        "Ingress Controller",
        "NAT Gateway",
    ),
    "storage": (
        "PostgreSQL Primary",
        "MySQL Replica",
        "Redis Cache",
        "Elasticsearch Cluster",
        "Cassandra Ring",
        "Backup Jobs",
        "ClickHouse Warehouse",
    ),
    "messaging": (
        "Kafka Consumers",
        "RabbitMQ Queues",
        "SQS Workers",
        "NATS Streams",
        "Event Bus",
    ),
    "observability": (
        "Prometheus Scrapes",
        "Log Pipeline",
        "Tracing Collector",
        "Alert Routing",
        "Grafana Dashboards",
    ),
    "services": (
        "Checkout API",
        "Payment Service",
        "Search API",
        "Auth Service",
        "Notification Worker",
        "Inventory Service",
        "Recommendation Engine",
        "Billing Batch",
        "User Profile API",
        "API Gateway",
        "Order Service",
        "Pricing Service",
        "Shipping Service",
        "Media Upload Service",
        "Email Sender",
    ),
    "delivery": ("Deploy Pipeline", "Build Runners", "Artifact Store", "Feature Flag Service"),
    "security": ("Certificate Rotation", "Secret Store", "IAM Roles", "WAF Rules"),
}

SYMPTOMS = (
    "High Error Rate After Deploy",
    "Latency Spike",
    "Memory Growth",
    "CPU Saturation",
    "Connection Timeouts",
    "Backlog Growing",
    "Disk Filling Up",
    "Stale Reads",
    "Intermittent 502s",
    "Restarts and Crash Loops",
    "Authentication Failures",
    "Slow Queries",
    "Dropped Requests",
    "Throttling and 429s",
    "Partial Outage in One Zone",
    "Degraded After Failover",
    "Errors for Some Customers",
    "Slow Startup",
    "Elevated 5xx at the Edge",
    "Missing Data",
)

TEAMS = ("payments", "platform", "search", "identity", "data", "edge", "growth", "core")
OPEN_QUESTIONS = (
    "Should this alert page at night or open a ticket?",
    "Which dashboards should link here directly?",
    "Is the error budget for this service still realistic?",
    "Who owns the dependency when it is the cause?",
    "Can the first check be automated into the alert itself?",
)
READING = (
    "Site Reliability Engineering (Beyer et al.), the chapter on effective troubleshooting",
    "The service's architecture decision records",
    "Postmortems tagged with this runbook",
    "Release Engineering notes on safe rollbacks",
    "Designing Data-Intensive Applications (Kleppmann)",
)


@dataclass
class RunbookSpec:
    slug: str
    category: str
    component: str
    symptom: str
    team: str
    modes: list[FailureMode]
    general: list[tuple[str, str, int]]
    explicit_minutes: set[int]
    patterns: list[FailureMode]
    drills: list[tuple[str, str]] = field(default_factory=list)  # (suspect, slug)
    pivot: str | None = None
    connections: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    reading: list[str] = field(default_factory=list)
    extra: bool = False
    markdown: bool = False
    crlf: bool = False
    bom: bool = False


@dataclass(frozen=True)
class RunbookFile:
    path: str  # relative, e.g. "cloud/load-balancer-latency-spike.md"
    slug: str
    text: str


def runbook_slugs(count: int, seed: int) -> list[tuple[str, str, str]]:
    """``count`` distinct (slug, category, component, symptom) picks, deterministic."""
    rng = random.Random(f"slugs-{seed}")
    combos = [
        (category, component, symptom)
        for category, components in CATEGORIES.items()
        for component in components
        for symptom in SYMPTOMS
    ]
    rng.shuffle(combos)
    picked = []
    round_no = 1
    while len(picked) < count:
        for category, component, symptom in combos[: count - len(picked)]:
            suffix = "" if round_no == 1 else f"-{round_no}"
            slug = f"{category}/{slugify(component)}-{slugify(symptom)}{suffix}"
            picked.append((slug, category, component, symptom))
        round_no += 1
    return picked


def runbook_specs(count: int, seed: int) -> list[RunbookSpec]:
    picks = runbook_slugs(count, seed)
    slugs = [p[0] for p in picks]
    by_category: dict[str, list[str]] = {}
    for slug, category, _c, _s in picks:
        by_category.setdefault(category, []).append(slug)
    specs = []
    for i, (slug, category, component, symptom) in enumerate(picks):
        rng = random.Random(f"runbook-{seed}-{i}")
        modes = rng.sample(FAILURE_MODES, rng.randint(3, 7))
        general = rng.sample(GENERAL_CHECKS, rng.choice((0, 1, 1, 2)))
        n_checks = len(modes) + len(general)
        explicit = {j for j in range(n_checks) if rng.random() < 0.4}
        patterns = rng.sample(modes, max(2, min(len(modes), rng.randint(2, 6))))

        def other(same_category: bool, rng=rng, category=category, slug=slug) -> str:
            pool = by_category[category] if same_category else slugs
            choice = rng.choice(pool)
            return choice if choice != slug or len(pool) == 1 else rng.choice(pool)

        def maybe_missing(target: str, chance: float, rng=rng, category=category) -> str:
            if rng.random() < chance:
                return f"{category}/{slugify(rng.choice(TEAMS))}-playbook-{rng.randint(1, 99)}"
            return target

        spec = RunbookSpec(
            slug=slug,
            category=category,
            component=component,
            symptom=symptom,
            team=rng.choice(TEAMS),
            modes=modes,
            general=general,
            explicit_minutes=explicit,
            patterns=patterns,
            markdown=rng.random() < 0.45,
        )
        spec.crlf = spec.markdown and rng.random() < 0.05
        spec.bom = rng.random() < 0.03
        seen = {slug}
        for mode in rng.sample(modes, rng.randint(1, min(4, len(modes)))):
            target = maybe_missing(other(rng.random() < 0.7), 0.08)
            if target not in seen and count > 1:
                seen.add(target)
                spec.drills.append((mode.observation, target))
        if rng.random() < 0.6 and count > 1:
            spec.pivot = maybe_missing(other(False), 0.05)
        for _ in range(rng.randint(1, 5)):
            target = maybe_missing(other(rng.random() < 0.5), 0.12)
            if target not in spec.connections and target != slug:
                spec.connections.append(target)
        spec.questions = rng.sample(OPEN_QUESTIONS, rng.randint(0, 2))
        spec.reading = rng.sample(READING, rng.randint(0, 2))
        spec.extra = rng.random() < 0.15
        specs.append(spec)
    return specs


def runbook_files(count: int, seed: int) -> list[RunbookFile]:
    """``count`` runbook files, deterministic for ``seed``; slugs from their paths."""
    files = []
    for spec in runbook_specs(count, seed):
        text = render_markdown(spec) if spec.markdown else render_plain(spec)
        if spec.crlf:
            text = text.replace("\n", "\r\n")
        if spec.bom:
            text = "\ufeff" + text
        ext = ".md" if spec.markdown else ".txt"
        files.append(RunbookFile(spec.slug + ext, spec.slug, text))
    return files


# --------------------------------------------------------------------------- rendering


def _fill(text: str, spec: RunbookSpec) -> str:
    return text.replace("{comp}", spec.component)


def _checks(spec: RunbookSpec) -> list[tuple[str, str]]:
    """(title with an optional minutes estimate, detail), fastest signal first."""
    # Check details do not name the component: shared with every cause, its words would
    # make the importer link each check to every cause.
    raw = [
        (m.check, m.check_detail.replace("{comp}", "the service"), m.minutes) for m in spec.modes
    ]
    raw += [(t, d, minutes) for t, d, minutes in spec.general]
    raw.sort(key=lambda c: c[2])
    out = []
    for j, (title, detail, minutes) in enumerate(raw):
        if j in spec.explicit_minutes:
            title = f"{title} (~{minutes} min)"
        out.append((title, detail))
    return out


def _title(spec: RunbookSpec) -> str:
    return f"Debug: {spec.symptom} in {spec.component}"


def _summary(spec: RunbookSpec) -> str:
    return (
        f"Runbook for diagnosing {spec.symptom.lower()} in {spec.component}, owned by the "
        f"{spec.team} team: the quick patterns first, then causes ranked by how often they "
        "turned out to be the answer."
    )


def _symptom(spec: RunbookSpec) -> str:
    return (
        f"{spec.component} shows {spec.symptom.lower()}: alerts fire on the golden signals, "
        f"users of the {spec.team} services report failures and dashboards leave the baseline."
    )


def _condition(spec: RunbookSpec) -> str:
    return f"If {spec.component} dashboards are back at baseline but users still report errors:"


def _not_the_issue_items(spec: RunbookSpec) -> list[str]:
    return [
        f"The problem is probably upstream of {spec.component} — check the edge and the client",
        "Compare with the status pages of providers before digging further",
    ]


def _extra(spec: RunbookSpec) -> tuple[str, str]:
    return (
        "Escalation",
        f"Page the {spec.team} on-call secondary after 30 minutes without a confirmed cause.\n"
        "Open an incident channel and post the checks already done.",
    )


def render_plain(spec: RunbookSpec) -> str:
    """The seed's plain form (section names alone on a line, as in samples/runbooks)."""
    out = [_title(spec), _summary(spec), f"Symptom: {_symptom(spec)}", "Quick Diagnosis"]
    out += ["| Pattern | Likely cause |", "|---|---|"]
    out += [f"| {m.observation} | {m.diagnosis} |" for m in spec.patterns]
    out.append("Likely Causes (ranked by frequency)")
    out += [f"- {m.cause} — {_fill(m.cause_detail, spec)}" for m in spec.modes]
    out.append("First Checks (fastest signal first)")
    out += [f"- {t} — {d}" for t, d in _checks(spec)]
    out.append(f"Signal example: {_fill(spec.modes[0].signal, spec)}")
    if spec.drills:
        out += ["Drill Paths", "| Suspect | Go to |", "|---|---|"]
        out += [f"| {suspect} | {target} |" for suspect, target in spec.drills]
    out.append("Fix Patterns")
    out += [f"- {m.fix}" for m in spec.modes]
    if spec.pivot:
        out += ["When This Is Not the Issue", _condition(spec)]
        out += [f"- {item}" for item in _not_the_issue_items(spec)]
        out.append(f"Pivot to {spec.pivot} when the failure is not in {spec.component}.")
    if spec.connections:
        out += ["Connections", " · ".join(spec.connections)]
    if spec.questions:
        out += ["Open Questions"] + [f"- {q}" for q in spec.questions]
    if spec.reading:
        out += ["Related reading"] + [f"- {r}" for r in spec.reading]
    return "\n".join(out) + "\n"


def render_markdown(spec: RunbookSpec) -> str:
    """The Markdown source form: front matter, headings, numbered and task lists, wiki links."""
    out = [
        "---",
        f"tags: [{spec.category}, {spec.team}, {slugify(spec.symptom)}]",
        f"owner: {spec.team}",
        "updated: 2025-06-01",
        "---",
        "",
        f"# {_title(spec)}",
        "",
        _summary(spec),
        "",
        f"**Symptom:** {_symptom(spec)}",
        "",
        "## Quick Diagnosis",
        "",
        "| Pattern | Likely cause |",
        "|---|---|",
    ]
    out += [f"| {m.observation} | {m.diagnosis} |" for m in spec.patterns]
    out += ["", "## Likely Causes (ranked by frequency)", ""]
    out += [f"{n}. {m.cause} — {_fill(m.cause_detail, spec)}" for n, m in enumerate(spec.modes, 1)]
    out += ["", "## First Checks (fastest signal first)", ""]
    out += [f"{n}. {t} — {d}" for n, (t, d) in enumerate(_checks(spec), 1)]
    out += ["", f"**Signal example:** {_fill(spec.modes[0].signal, spec)}", ""]
    if spec.drills:
        out += ["## Drill Paths", "", "| Suspect | Go to |", "|---|---|"]
        out += [f"| {suspect} | [[{target}]] |" for suspect, target in spec.drills]
        out.append("")
    out += ["## Fix Patterns", ""]
    out += [f"- [ ] {m.fix}" for m in spec.modes]
    out.append("")
    if spec.pivot:
        out += ["## When This Is Not the Issue", "", _condition(spec), ""]
        out += [f"- {item}" for item in _not_the_issue_items(spec)]
        out += ["", f"Pivot to [[{spec.pivot}]] when the failure is not in {spec.component}.", ""]
    if spec.connections:
        out += ["## Connections", ""] + [f"- [[{c}]]" for c in spec.connections] + [""]
    if spec.questions:
        out += ["## Open Questions", ""] + [f"- {q}" for q in spec.questions] + [""]
    if spec.reading:
        out += ["## Related reading", ""] + [f"- {r}" for r in spec.reading] + [""]
    if spec.extra:
        title, body = _extra(spec)
        out += [f"## {title}", "", body, ""]
    return "\n".join(out).rstrip("\n") + "\n"
