"""Backlog benchmark: route 300,000 open dossiers over the nine CERTs, then claim, supervise, publish.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cg_dev python bench/queue.py [--count 300000]

Needs PostgreSQL: DATABASE_URL says which server (its own database is left alone). The bench creates
a fresh database of its own (`--database`, default cg_bench; dropped and re-created at the start,
dropped at the end unless --keep), migrates it, and measures in one run:

- the raw COPY of the open dossiers (vehicles, holders, dossiers), as the floor for bulk writes;
- routing every one of them through cert_workflow.routing.services.dossiers_route in chunks as the check
  tasks would, by `--routers` processes at once (default 2: the routing queue's worker runs with
  concurrency 2, see docker-compose.yml) (target: under 60 s for 300,000), and one rebalance;
- claim latency p50/p99 of cert_workflow.review.claim.queue_claim_next with 1, 2 and 4 concurrent claimer
  processes on the busiest centre, next to a raw `SELECT ... FOR UPDATE SKIP LOCKED` loop on a bare
  table holding the same rows (targets: p99 under 20 ms and within 2x of the raw loop);
- the supervisor pages (overview and one centre, functions and HTTP) and the stats refresh
  (target: supervisor page under 300 ms).

Tasks run in-process (REDIS_URL is ignored): only the database is measured. The machine's other
load shows in the figures; run it on a quiet machine for numbers to compare.
"""

import sys
from pathlib import Path

# `python bench/queue.py` puts bench/ first on the path, where this file would shadow the standard
# library's `queue` (imported by multiprocessing, Celery, ...): run from the repository root instead.
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:] = [str(BASE_DIR)] + [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "bench"]

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterable, Iterator  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from bench._common import database_recreate, out, with_database  # noqa: E402

TARGET_ROUTE_300K_S = 60.0
TARGET_CLAIM_P99_MS = 20.0
TARGET_CLAIM_RATIO = 2.0
TARGET_PAGE_MS = 300.0
CONCURRENCY = (1, 2, 4)
PROCEDURE_WEIGHTS = {
    "change_of_owner": 45,
    "first_registration": 20,
    "change_of_address": 12,
    "duplicate": 8,
    "import": 6,
    "correction": 5,
    "sale_declaration": 4,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300_000, help="open dossiers to create and route")
    parser.add_argument("--history", type=int, default=None, help="decided dossiers of the last 60 days")
    parser.add_argument("--chunk", type=int, default=2_000, help="dossiers per dossiers_route call")
    parser.add_argument(
        "--routers", type=int, default=2, help="processes routing at once (the worker's concurrency)"
    )
    parser.add_argument("--claims", type=int, default=2_000, help="claims per concurrency level")
    parser.add_argument("--database", default="cg_bench", help="name of the bench's own database")
    parser.add_argument("--keep", action="store_true", help="keep the bench database at the end")
    parser.add_argument("--seed", type=int, default=2017)
    return parser.parse_args()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """First run and median of the following ones (or the first when runs == 1), in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:] or times)


# --- COPY -----------------------------------------------------------------------------------------

_REQUIRED = object()


def copy_rows(model, rows: Iterable[dict]) -> int:
    """COPY `rows` (attname → value) into `model`'s table; unset fields take the model's defaults."""
    from django.db import connection, models
    from psycopg import sql

    fields = list(model._meta.concrete_fields)
    defaults = {}
    for f in fields:
        if f.has_default():
            defaults[f.attname] = f.get_default()
        elif f.null:
            defaults[f.attname] = None
        elif f.blank and isinstance(f, models.CharField | models.TextField):
            defaults[f.attname] = ""
        else:
            defaults[f.attname] = _REQUIRED
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
    )
    connection.ensure_connection()
    n = 0
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = []
            for f in fields:
                value = row.get(f.attname, defaults[f.attname])
                if value is _REQUIRED:
                    raise KeyError(f"{model.__name__}.{f.attname} has no default: give a value")
                values.append(json.dumps(value) if f.attname in json_fields and value is not None else value)
            copy.write_row(values)
            n += 1
    return n


def sequences_reset(models_: Iterable) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models_:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM {table}), 1))",
                [table],
            )


def postcode_of(department: str) -> str:
    if department in ("2A", "2B"):
        return "20000"
    return f"{department}00" if len(department) == 3 else f"{department}000"


def vehicle_row(i: int, now: datetime) -> dict:
    return {
        "id": i,
        "vin": f"VF1BENCH{i:09d}",
        "make": "RENAULT",
        "commercial_name": "CLIO",
        "genre": "VP",
        "energy": "ES",
        "fiscal_power": 5,
        "co2_g_km": 118,
        "created_at": now,
    }


def holder_row(i: int, department: str) -> dict:
    return {
        "id": i,
        "holder_kind": "person",
        "last_name": f"Bench{i}",
        "first_names": "Camille",
        "address_line": "1 rue de la Gare",
        "postcode": postcode_of(department),
        "city": "Ville",
        "department": department,
    }


# --- Routers and claimers (separate processes, forked after Django is set up) ---------------------


def router(chunks: list[list[int]], barrier, results) -> None:
    """Route `chunks` one dossiers_route call each, as one routing worker process would."""
    from django.db import connection

    from cert_workflow.routing.services import dossiers_route

    times, routed = [], 0
    barrier.wait()
    for chunk in chunks:
        start = time.perf_counter()
        routed += len(dossiers_route(dossier_ids=chunk))
        times.append(time.perf_counter() - start)
    connection.close()
    results.put((routed, times))


def django_claimer(agent_ids: list[int], barrier, results) -> None:
    from django.db import connection

    from cert_workflow.review.claim import queue_claim_next
    from portal.models import User

    agents = list(User.objects.filter(pk__in=agent_ids).order_by("pk"))
    latencies = []
    barrier.wait()
    for agent in agents:
        start = time.perf_counter()
        claimed = queue_claim_next(agent=agent)
        latencies.append(time.perf_counter() - start)
        if claimed is None:
            break
    connection.close()
    results.put(latencies)


RAW_CLAIM = """
    SELECT id FROM bench_raw_queue
    WHERE cert_id = %s AND state = 'queued'
    ORDER BY priority DESC, queued_at, id
    LIMIT 1 FOR UPDATE SKIP LOCKED
"""
RAW_TAKE = "UPDATE bench_raw_queue SET state = 'in_review', claimed_by = %s, due_at = now() + interval '30 minutes' WHERE id = %s"


def raw_claimer(url: str, cert_id: int, agent_ids: list[int], barrier, results) -> None:
    import psycopg

    latencies = []
    with psycopg.connect(url) as conn:
        barrier.wait()
        for agent_id in agent_ids:
            start = time.perf_counter()
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(RAW_CLAIM, [cert_id])
                row = cursor.fetchone()
                if row is not None:
                    cursor.execute(RAW_TAKE, [agent_id, row[0]])
            latencies.append(time.perf_counter() - start)
            if row is None:
                break
    results.put(latencies)


def run_claimers(target, args_for: Callable[[list[int]], tuple], agent_ids: list[int], concurrency: int):
    """Latencies of every claim and the wall time, with `concurrency` processes starting together."""
    from django.db import connections

    connections.close_all()  # never share a connection with the children
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(concurrency + 1), context.Queue()
    shares = [agent_ids[i::concurrency] for i in range(concurrency)]
    processes = [
        context.Process(target=target, args=(*args_for(share), barrier, results)) for share in shares
    ]
    for process in processes:
        process.start()
    barrier.wait()
    start = time.perf_counter()
    latencies = [lat for _ in processes for lat in results.get()]
    wall = time.perf_counter() - start
    for process in processes:
        process.join()
    return latencies, wall


# --- The run --------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(server_url).scheme not in ("postgres", "postgresql", "pgsql"):
        out(
            "bench/queue.py: skipped: it needs PostgreSQL. Set DATABASE_URL=postgres://user@host:5432/any_database "
            "(the bench creates and uses its own database, --database, default cg_bench)."
        )
        return 0
    if urlsplit(server_url).path.lstrip("/") == args.database:
        out(f"--database {args.database} is DATABASE_URL's own database: choose another name.")
        return 2
    bench_url = with_database(server_url, args.database)
    history = args.count // 3 if args.history is None else args.history

    os.environ["DATABASE_URL"] = bench_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("SECRET_KEY", "bench-only-key-never-served-0123456789abcdef")
    os.environ.setdefault("DOCUMENT_SIGNING_KEY_GENERATE", "1")  # no document is signed here
    os.environ["ALLOWED_HOSTS"] = ",".join(filter(None, [os.environ.get("ALLOWED_HOSTS", ""), "testserver"]))
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        os.environ.setdefault(name, "0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"

    out(f"== bench/queue.py: {args.count:,} open dossiers, {history:,} decided, chunks of {args.chunk:,}")
    out(f"database {args.database} on {urlsplit(server_url).hostname}:{urlsplit(server_url).port or 5432}")
    database_recreate(server_url=server_url, name=args.database)
    try:
        run(args, bench_url=bench_url, history=history)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(server_url=server_url, name=args.database, drop_only=True)
    return 0


def run(args: argparse.Namespace, *, bench_url: str, history: int) -> None:
    import django

    django.setup()
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX as NO_PASSWORD
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from cert_workflow.models import Assessment, RoutingDecision
    from cert_workflow.routing import services as routing
    from dossiers.models import Cert, Dossier, DossierEvent, Holder, State, Vehicle
    from portal.models import Role, User

    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    out(f"migrate: {time.perf_counter() - start:.1f} s")

    rng = random.Random(args.seed)
    now = timezone.now()
    certs = list(Cert.objects.order_by("code"))
    departments = [d for c in certs for d in c.departments]
    procedures, weights = list(PROCEDURE_WEIGHTS), list(PROCEDURE_WEIGHTS.values())
    owner = User.objects.create(email="usager@bench.example.fr", role=Role.CITIZEN, password=NO_PASSWORD)
    deciders = {
        c.pk: User.objects.create(email=f"agent-{c.code.lower()}@bench.example.fr", role=Role.AGENT, cert=c)
        for c in certs
    }

    # Open dossiers, submitted over the last 30 days, homes spread over every department: the home
    # centres' shares do not follow their capacities, so routing has overflow to handle.
    homes = [rng.choice(departments) for _ in range(args.count)]
    kinds = rng.choices(procedures, weights, k=args.count)

    def open_dossiers() -> Iterator[dict]:
        for i in range(1, args.count + 1):
            submitted = now - timedelta(seconds=(args.count - i) * 30 * 86400 / args.count)
            yield {
                "id": i,
                "reference": f"CG-B-{i:09d}",
                "procedure": kinds[i - 1],
                "state": State.SUBMITTED,
                "applicant_id": owner.pk,
                "filed_by_id": owner.pk,
                "vehicle_id": i,
                "holder_id": i,
                "due_at": now + timedelta(minutes=15),
                "created_at": submitted,
                "updated_at": submitted,
                "submitted_at": submitted,
            }

    start = time.perf_counter()
    copy_rows(Vehicle, (vehicle_row(i, now) for i in range(1, args.count + 1)))
    copy_rows(Holder, (holder_row(i, homes[i - 1]) for i in range(1, args.count + 1)))
    copy_rows(Dossier, open_dossiers())
    copy_seconds = time.perf_counter() - start
    # What the automatic checks leave on each dossier before routing: its assessment (the claim
    # hands out only dossiers whose checks ran). Outside the COPY time: routing is compared to it.
    copy_rows(
        Assessment,
        (
            {"id": i, "dossier_id": i, "risk": "medium", "route": "review", "assessed_at": now}
            for i in range(1, args.count + 1)
        ),
    )
    out(
        f"raw COPY of {args.count:,} open dossiers (+ vehicles, holders): {copy_seconds:.1f} s "
        f"({args.count / copy_seconds:,.0f} dossiers/s)"
    )

    # History: decided dossiers of the last 60 days with their decision event, for the figures.
    def decided() -> Iterator[tuple[dict, dict]]:
        for n in range(history):
            i = args.count + 1 + n
            cert = rng.choice(certs)
            submitted = now - timedelta(days=rng.uniform(1, 60))
            queued = submitted + timedelta(minutes=5)
            decided_at = queued + timedelta(days=rng.uniform(0.1, 6))
            decided_at = min(decided_at, now - timedelta(minutes=1))
            state = rng.choices([State.ISSUED, State.REJECTED, State.APPROVED], [85, 10, 5])[0]
            dossier = {
                "id": i,
                "reference": f"CG-B-{i:09d}",
                "procedure": rng.choices(procedures, weights)[0],
                "state": state,
                "applicant_id": owner.pk,
                "filed_by_id": owner.pk,
                "vehicle_id": i,
                "holder_id": i,
                "cert_id": cert.pk,
                "created_at": submitted,
                "updated_at": decided_at,
                "submitted_at": submitted,
                "queued_at": queued,
                "review_started_at": decided_at - timedelta(minutes=12),
                "decided_at": decided_at,
                "closed_at": decided_at if state != State.APPROVED else None,
            }
            event = {
                "id": n + 1,
                "dossier_id": i,
                "actor_id": deciders[cert.pk].pk,
                "actor_role": Role.AGENT,
                "action": "transition",
                "from_state": State.IN_REVIEW,
                "to_state": State.REJECTED if state == State.REJECTED else State.APPROVED,
                "data": {},
                "created_at": decided_at,
            }
            yield dossier, event

    if history:
        start = time.perf_counter()
        rows = list(decided())
        copy_rows(Vehicle, (vehicle_row(d["id"], now) for d, _e in rows))
        copy_rows(Holder, (holder_row(d["id"], rng.choice(departments)) for d, _e in rows))
        copy_rows(Dossier, (d for d, _e in rows))
        copy_rows(DossierEvent, (e for _d, e in rows))
        out(
            f"COPY of {history:,} decided dossiers with their decision event: {time.perf_counter() - start:.1f} s"
        )
    sequences_reset([Vehicle, Holder, Dossier, DossierEvent, Assessment])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # --- Routing -----------------------------------------------------------------------------
    ids = list(Dossier.objects.filter(state=State.SUBMITTED).order_by("pk").values_list("pk", flat=True))
    chunks = [ids[i : i + args.chunk] for i in range(0, len(ids), args.chunk)]
    connection.close()  # never share a connection with the children
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(args.routers + 1), context.Queue()
    processes = [
        context.Process(target=router, args=(chunks[n :: args.routers], barrier, results))
        for n in range(args.routers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    start = time.perf_counter()
    routed, chunk_times = 0, []
    for _ in processes:
        n, times = results.get()
        routed += n
        chunk_times += times
    for process in processes:
        process.join()
    route_seconds = time.perf_counter() - start
    scaled = route_seconds * 300_000 / max(1, args.count)
    out()
    out(
        f"routing {routed:,} dossiers in {len(chunk_times)} dossiers_route calls by {args.routers} "
        f"processes: {route_seconds:.1f} s "
        f"({routed / route_seconds:,.0f}/s; per call p50 {ms(percentile(chunk_times, 0.5))}, "
        f"max {ms(max(chunk_times))})"
    )
    out(f"  routing / raw COPY time: {route_seconds / copy_seconds:.1f}x")
    verdict = "OK" if scaled < TARGET_ROUTE_300K_S else "MISSED"
    out(f"  at this rate 300,000 take {scaled:.0f} s (target < {TARGET_ROUTE_300K_S:.0f} s): {verdict}")
    reasons = Counter(RoutingDecision.objects.values_list("reason", flat=True))
    out(f"  reasons: {dict(reasons)}")
    # What autovacuum does within a minute of such a burst in production (this machine's server
    # may run with autovacuum off): dead index entries and the visibility map of the routed rows.
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    out(f"  VACUUM (ANALYZE) after routing: {time.perf_counter() - start:.1f} s")
    loads = routing.centre_loads()
    out("  centre  capacity  queued  projected wait (days)")
    for code, load in loads.items():
        out(f"  {code:6}  {load.cert.daily_capacity:8}  {load.queued:6}  {load.wait_days:8.1f}")

    for code in ("BES", "PAR"):  # a centre's capacity halves: the next rebalance moves its overflow
        cert = loads[code].cert
        Cert.objects.filter(pk=cert.pk).update(daily_capacity=max(1, cert.daily_capacity // 2))
    runs, total, start = [], 0, time.perf_counter()
    while len(runs) < 20:  # each run moves at most routing.REBALANCE_LIMIT dossiers
        run_start = time.perf_counter()
        moved = routing.queues_rebalance()
        runs.append(time.perf_counter() - run_start)
        total += moved
        if not moved:
            break
    out(
        f"rebalance after halving BES and PAR capacity: {total:,} moved in {len(runs)} runs, "
        f"{time.perf_counter() - start:.1f} s (runs: {', '.join(f'{t:.2f} s' for t in runs)}; "
        f"at most {routing.REBALANCE_LIMIT:,} per run, the last one finds nothing to do)"
    )

    # --- Claims ------------------------------------------------------------------------------
    out()
    busiest = max(routing.centre_loads().values(), key=lambda load: load.queued)
    per_level = min(args.claims, busiest.queued // (2 * len(CONCURRENCY)))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE bench_raw_queue (
                id bigint PRIMARY KEY, cert_id bigint NOT NULL, priority smallint NOT NULL,
                queued_at timestamptz, state varchar(30) NOT NULL, claimed_by bigint, due_at timestamptz
            );
            INSERT INTO bench_raw_queue
                SELECT id, cert_id, priority, queued_at, state, claimed_by_id, due_at
                FROM dossiers_dossier WHERE state = 'queued';
            CREATE INDEX bench_raw_queue_idx ON bench_raw_queue (cert_id, priority DESC, queued_at, id)
                WHERE state = 'queued';
            ANALYZE bench_raw_queue;
            """
        )
    agents = User.objects.bulk_create(
        User(
            email=f"instructeur{n}@bench.example.fr", role=Role.AGENT, cert=busiest.cert, password=NO_PASSWORD
        )
        for n in range(per_level * len(CONCURRENCY))
    )
    agent_ids = [a.pk for a in agents]
    try:
        from cert_workflow.review.claim import queue_claim_next  # noqa: F401 - present or not measured
    except ImportError as exc:
        out(f"claims: not measured: cert_workflow.review.claim.queue_claim_next is missing ({exc})")
        queue_claim_next = None
    out(f"claims on {busiest.code} ({busiest.queued:,} queued), {per_level:,} per level")
    out("  claimers   queue_claim_next p50 / p99   raw SKIP LOCKED p50 / p99   ratio p50 / p99   claims/s")
    for level, concurrency in enumerate(CONCURRENCY):
        share = agent_ids[level * per_level : (level + 1) * per_level]
        raw, raw_wall = run_claimers(
            raw_claimer, lambda s: (bench_url, busiest.cert.pk, s), share, concurrency
        )
        if queue_claim_next is None:
            out(
                f"  {concurrency:8}   {'not measured':>27}   {ms(percentile(raw, 0.5))} / {ms(percentile(raw, 0.99))}"
            )
            continue
        ours, wall = run_claimers(django_claimer, lambda s: (s,), share, concurrency)
        p50, p99 = percentile(ours, 0.5), percentile(ours, 0.99)
        r50, r99 = percentile(raw, 0.5), percentile(raw, 0.99)
        verdict = "OK" if p99 * 1000 < TARGET_CLAIM_P99_MS and p99 <= TARGET_CLAIM_RATIO * r99 else "MISSED"
        out(
            f"  {concurrency:8}   {ms(p50):>10} / {ms(p99):>9}       {ms(r50):>9} / {ms(r99):>9}"
            f"      {p50 / r50:5.1f}x / {p99 / r99:4.1f}x   {len(ours) / wall:7.0f} "
            f"(raw {len(raw) / raw_wall:.0f})  {verdict}"
        )
    in_review = Dossier.objects.filter(state=State.IN_REVIEW)
    out(
        f"  dossiers in review: {in_review.count():,}, held by "
        f"{in_review.values('claimed_by').distinct().count():,} distinct agents (one claim per agent)"
    )

    # --- Supervision and public figures ------------------------------------------------------
    out()
    measure_supervision(busiest.cert)


def measure_supervision(cert) -> None:
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX as NO_PASSWORD
    from django.test import Client
    from django.test.utils import override_settings

    from portal.models import Role, User

    try:
        from cert_workflow.stats import services as stats
    except ImportError as exc:
        stats = None
        out(f"stats refresh: not measured: cert_workflow.stats.services is missing ({exc})")
    if stats is not None and hasattr(stats, "stats_refresh"):
        first, median = timed(stats.stats_refresh, 3)
        out(f"stats_refresh(): first {ms(first)}, then {ms(median)}")
    elif stats is not None:
        out("stats refresh: not measured: cert_workflow.stats.services.stats_refresh is missing")

    try:
        from cert_workflow.supervision import selectors as supervision
    except ImportError as exc:
        out(f"supervisor page: not measured: cert_workflow.supervision.selectors is missing ({exc})")
        return
    if not hasattr(supervision, "supervision_overview"):
        out(
            "supervisor page: not measured: cert_workflow.supervision.selectors.supervision_overview is missing"
        )
        return
    first, median = timed(supervision.supervision_overview, 5)
    out(f"supervision_overview(): first {ms(first)}, then {ms(median)}")
    if hasattr(supervision, "supervision_centre"):
        first, median = timed(lambda: supervision.supervision_centre(cert=cert), 5)
        out(f"supervision_centre({cert.code}): first {ms(first)}, then {ms(median)}")

    boss = User.objects.create(
        email="superviseur@bench.example.fr", role=Role.SUPERVISOR, password=NO_PASSWORD
    )
    client = Client()
    client.force_login(boss)
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        for label, path in (
            ("GET /supervision/", "/supervision/"),
            (f"GET /supervision/centres/{cert.code}/", f"/supervision/centres/{cert.code}/"),
            ("GET /statistiques/", "/statistiques/"),
            ("GET /api/v1/stats/", "/api/v1/stats/"),
        ):
            status = []

            def get(path=path, status=status) -> None:
                status.append(client.get(path).status_code)

            first, median = timed(get, 5)
            if set(status) != {200}:
                out(f"{label}: not measured: answered {sorted(set(status))}")
                continue
            verdict = ""
            if path.startswith("/supervision/"):
                verdict = " OK" if median * 1000 < TARGET_PAGE_MS else " MISSED"
                verdict += f" (target < {TARGET_PAGE_MS:.0f} ms)"
            out(f"{label}: first {ms(first)}, then {ms(median)}{verdict}")


if __name__ == "__main__":
    sys.exit(main())
