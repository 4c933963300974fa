"""Batch benchmark: a dealer's 10,000-vehicle batch from the API request to every CPI ready.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cg_dev REDIS_URL=redis://127.0.0.1:6379/7 \\
        python bench/batch_intake.py [--count 10000] [--small 50] [--raw 60] [--profile]

Needs PostgreSQL and Redis; without DATABASE_URL (postgres://) or REDIS_URL it says so and exits 0,
so that `make bench` passes on a machine without them. The bench creates its own database
(`--database`, default cg_bench_batch; dropped and re-created at the start, dropped at the end
unless --keep), purges the portal's queues on REDIS_URL's database, migrates, and starts:

- one Celery worker as in production (docker-compose.yml): `celery -A portal worker` on the queues
  default,checks,routing,pdf, prefork, concurrency 2 (the two cores of the target machine);
- one gunicorn process (one sync worker) serving the portal: the batch is POSTed over HTTP to
  /api/v1/batches/ with an organisation token and an Idempotency-Key, as a dealer's software would
  send it, so that the request's parsing and storage run in a web process of their own whose memory
  is measured apart from the bench's.

It then measures, in one run:

- a `--small` batch (50 vehicles) and a `--count` batch (10,000), request to batch done, each phase
  read from the rows' own timestamps (Batch.started_at / processed_at / done_at, Dossier.created_at,
  IssuedDocument.issued_at / rendered_at, CheckResult.checked_at): the bench polls the batch's row
  slowly and cheaply, so its polling neither adds latency nor competes for the cores it measures;
- the peak resident memory (VmHWM) of every process, once the batch's acknowledgement (one PDF
  listing every row, rendered after the batch is done) is stored: gunicorn's worker, the Celery main process and
  its pool processes, the bench itself;
- raw WeasyPrint: `--raw` full renders of the same CPIs in two processes (the worker's two cores);
- once the worker is stopped (the machine quiet), the validation and insert of another `--count`
  rows in this process, chunk by chunk through batches.services.batch_chunk_process as the worker
  runs it (its hooks' tasks are queued and purged), beside a raw COPY of the very rows it inserted
  (vehicles, holders, dossiers and their audit events) into the same tables, with their indexes,
  constraints and triggers, the deferred foreign keys checked, then rolled back: what storing those
  rows costs without any validation or application code. For reference it also prints a COPY of
  the vehicles, holders and dossiers alone into bare tables without foreign keys. `--profile`
  prints that intake's cProfile (top functions by own time).

When the server runs with autovacuum off (this machine's does), a thread of the bench runs VACUUM
(ANALYZE) of the tables a batch writes every 5 s, so that the planner knows them as it would on a
live database (see Autovacuum).

Targets (issue 14): validation + insert at least 50% of the raw COPY's rows/s (the COPY into the
same tables); request to the last
CPI under 60 s for 10,000 vehicles and under 5 s for 50 on 2 cores; every process under 500 MB.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:] = [str(BASE_DIR)] + [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "bench"]

import argparse  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from bench._common import database_recreate, out, with_database  # noqa: E402

CONCURRENCY = 2
QUEUES = ("default", "checks", "routing", "pdf")
TARGET_COPY_SHARE = 0.5
TARGET_LARGE_S = 60.0
TARGET_SMALL_S = 5.0
TARGET_PEAK_MB = 500
POLL_SECONDS = 0.25
# Holders spread over departments of several regions: the regional tax differs.
POSTCODES = ("25000", "75011", "69003", "13008", "33000", "59000", "67000", "35000", "31000", "44000")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="vehicles of the large batch")
    parser.add_argument("--small", type=int, default=50, help="vehicles of the small batch")
    parser.add_argument("--raw", type=int, default=60, help="full WeasyPrint renders for the baseline")
    parser.add_argument("--database", default="cg_bench_batch", help="name of the bench's own database")
    parser.add_argument("--keep", action="store_true", help="keep the bench database at the end")
    parser.add_argument("--profile", action="store_true", help="print the in-process intake's cProfile")
    parser.add_argument(
        "--intake-only", action="store_true", help="only the in-process intake beside the raw COPY"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(server_url).scheme not in ("postgres", "postgresql", "pgsql") or not os.environ.get(
        "REDIS_URL"
    ):
        out(
            "bench/batch_intake.py: skipped: it needs PostgreSQL and Redis (a real Celery worker). "
            "Set DATABASE_URL=postgres://user@host:5432/any_database and REDIS_URL=redis://host:6379/N."
        )
        return 0
    if urlsplit(server_url).path.lstrip("/") == args.database:
        out(f"--database {args.database} is DATABASE_URL's own database: choose another name.")
        return 2
    media = tempfile.mkdtemp(prefix="cg-bench-batch-")
    os.environ.update(
        {
            "DATABASE_URL": with_database(server_url, args.database),
            "MEDIA_ROOT": media,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        }
    )
    os.environ.setdefault("SECRET_KEY", "bench-only-key-never-served-0123456789abcdef")
    os.environ.setdefault("SITE_URL", "http://testserver")
    os.environ.setdefault("SITE_URL_ALLOW_HTTP", "1")
    if not (os.environ.get("DOCUMENT_SIGNING_KEY") or os.environ.get("DOCUMENT_SIGNING_KEY_FILE")):
        os.environ["DOCUMENT_SIGNING_KEY"] = base64.b64encode(os.urandom(32)).decode()
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        os.environ.setdefault(name, "0")

    out(
        f"== bench/batch_intake.py: batches of {args.small:,} and {args.count:,} vehicles, "
        f"{os.cpu_count()} cores, load {load()}"
    )
    database_recreate(server_url=server_url, name=args.database)
    processes: list[subprocess.Popen] = []
    try:
        import django

        django.setup()
        from django.core.management import call_command

        start = time.perf_counter()
        call_command("migrate", verbosity=0)
        out(f"migrate: {time.perf_counter() - start:.1f} s")
        run(args, media=Path(media), processes=processes)
    finally:
        for process in processes:
            process_stop(process)
        from django.db import connections

        connections.close_all()
        queues_purge()
        if not args.keep:
            database_recreate(server_url=server_url, name=args.database, drop_only=True)
        subprocess.run(["rm", "-rf", media], check=False)
    return 0


# --- statistics ------------------------------------------------------------------------------------

# The tables a batch writes: the planner must know their size, as on a live database.
WRITTEN_TABLES = (
    "dossiers_vehicle",
    "dossiers_holder",
    "dossiers_dossier",
    "dossiers_dossierevent",
    "batches_batchrow",
    "cert_workflow_issueddocument",
    "cert_workflow_checkresult",
)
VACUUM_EVERY_S = 5.0


class Autovacuum(threading.Thread):
    """VACUUM (ANALYZE) of the written tables every VACUUM_EVERY_S seconds, when the server runs
    with autovacuum off (as this machine's may).

    On a live database the tables have statistics, and the GIN indexes their metapage figures,
    long before a batch arrives. On a fresh database never analysed the planner takes the trigram
    index (vehicle_vin_trgm, vehicle_plate_trgm) for `vin IN (500 VINs)` and `plate IN (...)`, a
    bitmap scan that costs seconds per chunk and grows with the table: a figure of this machine's
    settings, not of the code. Its own connection, outside the measured processes."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        # Held by a measurement that must not share the cores with a VACUUM: it runs its own,
        # untimed, where the tables need fresh statistics.
        self.quiet = threading.Lock()
        self.runs = 0

    def needed(self) -> bool:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute("SHOW autovacuum").fetchone()[0] == "off"

    def vacuum(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"VACUUM (ANALYZE) {', '.join(WRITTEN_TABLES)}")
        self.runs += 1

    def run(self) -> None:
        while not self.stop.wait(VACUUM_EVERY_S):
            with self.quiet:
                self.vacuum()


# --- processes ------------------------------------------------------------------------------------


def queues_purge() -> None:
    from portal.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue)
        channel.client.delete(channel.unacked_key, channel.unacked_index_key, channel.unacked_mutex_key)


def worker_start(media: Path) -> subprocess.Popen:
    from portal.celery import app

    hostname = f"bench-batch-{os.getpid()}@{socket.gethostname()}"
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "warning",
        "--queues", ",".join(QUEUES), "--pool", "prefork", "--concurrency", str(CONCURRENCY),
        "--hostname", hostname, "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    log = open(media / "worker.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited at start: see {log.name}")
        replies = app.control.ping(destination=[hostname], timeout=0.5)
        if any(hostname in reply for reply in replies):
            return process
    raise RuntimeError("the worker did not answer within 90 s")


def web_start(media: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--timeout", "300", "--log-level", "warning",
    ]  # fmt: skip
    log = open(media / "web.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited at start: see {log.name}")
        try:
            urllib.request.urlopen(base + "/api/v1/batches/", timeout=2)  # noqa: S310 - our own http://127.0.0.1
        except urllib.error.HTTPError:
            return process, base  # 401 without a token: it answers
        except OSError:
            time.sleep(0.2)
            continue
        return process, base
    raise RuntimeError("gunicorn did not answer within 60 s")


def process_stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def group_peaks(process: subprocess.Popen) -> list[tuple[int, int, str, int]]:
    """(pid, parent pid, name, peak RSS in bytes) of every process of `process`'s group, from
    /proc/<pid>/status VmHWM (psutil is not needed)."""
    peaks = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != process.pid:
                continue
            status = dict(
                line.split(":", 1)
                for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                if ":" in line
            )
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except (OSError, ProcessLookupError):
            continue
        name = " ".join(part.decode(errors="replace") for part in cmdline[1:4]) or status["Name"].strip()
        peak = int(status.get("VmHWM", "0 kB").split()[0]) * 1024
        peaks.append((int(entry), int(status["PPid"]), name, peak))
    return sorted(peaks)


def load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg()) + " (1/5/15 min)"


def mb(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB"


# --- data -----------------------------------------------------------------------------------------


def dealer_create():
    """A dealer organisation allowed to collect the taxes, its staff member and an API token."""
    from portal import tokens
    from portal.models import Organisation, Role, User

    organisation = Organisation.objects.create(
        name="Garage du Banc d'Essai",
        siren="552100554",
        siret="55210055400013",
        habilitation_number="HAB-BENCH-0001",
        tax_agrement=True,
    )
    user = User.objects.create(email="vendeur@bench.example.fr", role=Role.DEALER, organisation=organisation)
    _token, secret = tokens.organisation_token_create(organisation=organisation, created_by=user, name="DMS")
    return user, secret


def vehicle_rows(count: int, *, series: str) -> list[dict]:
    """`count` distinct valid rows: VINs of 17 characters without I, O, Q (dossiers.validators)."""
    invoice = (date.today() - timedelta(days=2)).isoformat()
    rows = []
    for n in range(count):
        rows.append(
            {
                "vehicle": {
                    "vin": f"VF1{series}{n:09d}",
                    "make": "RENAULT",
                    "type_variant_version": "RFB0A2",
                    "cnit": "M10RENVP000A123",
                    "commercial_name": "MEGANE E-TECH" if n % 2 else "CLIO",
                    "max_mass_kg": 1850,
                    "ptac_kg": 1850,
                    "mass_kg": 1350,
                    "empty_mass_kg": 1280,
                    "eu_category": "M1",
                    "genre": "VP",
                    "eu_body": "AB",
                    "body": "CI",
                    "approval_number": "e2*2007/46*0534*12",
                    "displacement_cm3": 1332,
                    "power_kw": 103,
                    "energy": "ES" if n % 3 else "EL",
                    "fiscal_power": 7,
                    "seats": 5,
                    "co2_g_km": 128 if n % 3 else 0,
                    "euro_class": "EURO6",
                },
                "holder": {
                    "holder_kind": "person",
                    "last_name": f"Martin-{n}",
                    "first_names": "Camille Louise",
                    "birth_date": "1985-04-12",
                    "address_line": f"{n % 200 + 1} rue des Lilas",
                    "postcode": POSTCODES[n % len(POSTCODES)],
                    "city": "Ville",
                },
                "invoice_date": invoice,
                "mandate_reference": f"MDT-{series}-{n:06d}",
                "external_ref": f"STOCK-{series}-{n:06d}",
            }
        )
    return rows


# --- one batch through the API and the worker -----------------------------------------------------


def batch_post(base: str, secret: str, rows: list[dict]) -> tuple[int, float, float, dict]:
    """POST the batch; (batch id, seconds to send and be answered, size in bytes, the answer)."""
    body = json.dumps({"vehicles": rows}).encode()
    request = urllib.request.Request(  # noqa: S310 - the bench's own http://127.0.0.1 server
        base + "/api/v1/batches/",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Token {secret}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - our own server
        answer = json.loads(response.read())
        if response.status != 201:
            raise RuntimeError(f"POST answered {response.status}: {answer}")
    return answer["id"], time.perf_counter() - start, len(body), answer


def batch_get(base: str, secret: str, batch_id: int) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the bench's own http://127.0.0.1 server
        f"{base}/api/v1/batches/{batch_id}/",
        headers={"Authorization": f"Token {secret}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own server
        return json.loads(response.read())


def batch_wait(batch_id: int, *, timeout: float) -> None:
    from batches.models import Batch

    start = time.perf_counter()
    while not Batch.objects.filter(pk=batch_id, done_at__isnull=False).exists():
        if time.perf_counter() - start > timeout:
            state = Batch.objects.values("state", "valid", "rejected").get(pk=batch_id)
            raise RuntimeError(f"batch {batch_id} not done after {timeout:.0f} s: {state}")
        time.sleep(POLL_SECONDS)


def acknowledgement_wait(batch_id: int, *, timeout: float):
    """When the batch's acknowledgement was stored (its file's time): rendered after the batch is
    done, its memory belongs in the worker's peak."""
    from datetime import UTC, datetime

    from django.core.files.storage import default_storage

    from batches.models import Batch

    start = time.perf_counter()
    while not (name := Batch.objects.values_list("acknowledgement", flat=True).get(pk=batch_id)):
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"batch {batch_id}: no acknowledgement after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return datetime.fromtimestamp(os.path.getmtime(default_storage.path(name)), tz=UTC)


def batch_figures(batch_id: int, *, requested_at) -> dict:
    """The phases of a done batch, in seconds from the request, read from the rows' timestamps."""
    from django.db.models import Count, Max, Min

    from batches.models import Batch
    from cert_workflow.models import CheckResult, DocumentKind, IssuedDocument
    from dossiers.models import Dossier

    batch = Batch.objects.get(pk=batch_id)
    dossiers = Dossier.objects.filter(batch_row__batch_id=batch_id)
    created = dossiers.aggregate(first=Min("created_at"), last=Max("created_at"), n=Count("pk"))
    cpis = IssuedDocument.objects.filter(dossier__batch_row__batch_id=batch_id, kind=DocumentKind.CPI)
    cpi = cpis.aggregate(
        n=Count("pk"),
        rendered=Count("rendered_at"),
        first_issued=Min("issued_at"),
        last_issued=Max("issued_at"),
        first_rendered=Min("rendered_at"),
        last_rendered=Max("rendered_at"),
    )
    checks = CheckResult.objects.filter(dossier__batch_row__batch_id=batch_id).aggregate(
        last=Max("checked_at"), n=Count("dossier_id", distinct=True)
    )
    plated = dossiers.filter(vehicle__plate__gt="").count()
    states = dict(dossiers.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))

    def since(moment) -> float | None:
        return None if moment is None else (moment - requested_at).total_seconds()

    return {
        "received": batch.received,
        "valid": batch.valid,
        "rejected": batch.rejected,
        "created_at": since(batch.created_at),
        "started_at": since(batch.started_at),
        "processed_at": since(batch.processed_at),
        "done_at": since(batch.done_at),
        "dossiers": created["n"],
        "first_dossier": since(created["first"]),
        "last_dossier": since(created["last"]),
        "plated": plated,
        "cpis": cpi["n"],
        "rendered": cpi["rendered"],
        "first_issued": since(cpi["first_issued"]),
        "last_issued": since(cpi["last_issued"]),
        "first_rendered": since(cpi["first_rendered"]),
        "last_rendered": since(cpi["last_rendered"]),
        "checked": checks["n"],
        "last_checked": since(checks["last"]),
        "states": states,
    }


def rate(count: int, seconds: float | None) -> str:
    if not seconds or seconds <= 0:
        return "-"
    return f"{count / seconds:,.0f}/s"


def batch_run(label: str, *, base: str, secret: str, rows: list[dict], target: float) -> dict:
    from django.utils import timezone

    requested_at = timezone.now()
    batch_id, post_seconds, size, answer = batch_post(base, secret, rows)
    batch_wait(batch_id, timeout=600 + len(rows) / 10)
    acknowledged = acknowledgement_wait(batch_id, timeout=600 + len(rows) / 10)
    f = batch_figures(batch_id, requested_at=requested_at)
    api = batch_get(base, secret, batch_id)
    n = f["received"]
    out()
    out(f"{label}: {n:,} vehicles, POST of {size / 1024 / 1024:.1f} MB answered in {post_seconds:.2f} s")
    out(
        f"  API at the end: state {api['state']}, progress {api['progress']}%, counts {api['counts']} "
        f"(first answer: {answer['state']})"
    )
    out("  seconds from the request (rows' own timestamps):")
    out(f"    received (Batch.created_at)      {f['created_at']:7.2f}")
    out(f"    processing started               {f['started_at']:7.2f}")
    out(f"    first / last chunk's dossiers    {f['first_dossier']:7.2f} / {f['last_dossier']:.2f}")
    out(f"    every row checked (processed_at) {f['processed_at']:7.2f}")
    out(f"    first / last CPI issued          {f['first_issued']:7.2f} / {f['last_issued']:.2f}")
    out(f"    first / last CPI rendered        {f['first_rendered']:7.2f} / {f['last_rendered']:.2f}")
    if f["last_checked"] is not None:
        out(f"    last automatic check             {f['last_checked']:7.2f}")
    out(f"    batch done (done_at)             {f['done_at']:7.2f}")
    out(f"    acknowledgement PDF stored       {(acknowledged - requested_at).total_seconds():7.2f}")
    intake = f["processed_at"] - f["started_at"]
    out(
        f"  chunk tasks (started → processed: validation + insert, then each chunk's after-commit "
        f"hooks: checks enqueued, submission mails, plates, CPIs issued; {CONCURRENCY} worker processes "
        f"shared with the checks and the renders): {intake:.2f} s = {rate(n, intake)} rows"
    )
    out(
        f"  plates + dossiers + checks: {f['plated']:,} plates, {f['dossiers']:,} dossiers, "
        f"{f['checked']:,} checked; all done {f['last_checked'] or 0:.2f} s after the request "
        f"= {rate(f['dossiers'], (f['last_checked'] or 0) - f['started_at'])} dossiers from the start; "
        f"states {f['states']}"
    )
    render = f["last_rendered"] - f["first_rendered"]
    out(
        f"  CPIs: {f['rendered']:,}/{f['cpis']:,} rendered, first to last {render:.2f} s "
        f"= {rate(f['rendered'] - 1, render)} "
        f"(issue of the first to the last render: {rate(f['rendered'], f['last_rendered'] - f['first_issued'])})"
    )
    last = max(f["last_rendered"], f["done_at"])
    verdict = "OK" if last < target and f["rendered"] == n else "MISSED"
    out(
        f"  request → last CPI: {f['last_rendered']:.2f} s, → batch done: {f['done_at']:.2f} s "
        f"(target < {target:.0f} s): {verdict}"
    )
    f.update(batch_id=batch_id, verdict=verdict, post_seconds=post_seconds)
    return f


# --- raw WeasyPrint -------------------------------------------------------------------------------


def _raw_init() -> None:
    import django

    django.setup()


def _raw_render(job: tuple[str, dict, str | None]) -> float:
    from cert_workflow.documents.full_render import render_document_full

    kind, data, url = job
    start = time.perf_counter()
    render_document_full(kind=kind, data=data, verification_url=url)
    return time.perf_counter() - start


def raw_weasyprint(batch_id: int, count: int) -> tuple[float, float]:
    """Full WeasyPrint renders of `count` of the batch's CPIs in CONCURRENCY fresh processes (after
    one cold render each): (documents/s, median seconds per render)."""
    from cert_workflow.documents.signing import verification_url
    from cert_workflow.models import DocumentKind, IssuedDocument

    documents = IssuedDocument.objects.filter(
        dossier__batch_row__batch_id=batch_id, kind=DocumentKind.CPI
    ).select_related("dossier__vehicle")
    jobs = [(d.kind, d.data, verification_url(d)) for d in documents.order_by("pk")[:count]]
    context = multiprocessing.get_context("spawn")
    with context.Pool(CONCURRENCY, initializer=_raw_init) as pool:
        pool.map(_raw_render, jobs[:CONCURRENCY], chunksize=1)
        start = time.perf_counter()
        times = pool.map(_raw_render, jobs, chunksize=1)
        wall = time.perf_counter() - start
    return len(jobs) / wall, statistics.median(times)


# --- validation + insert in the worker's two processes ----------------------------------------------


def _intake_init() -> None:
    """A process of the pool as a worker's: Django set up, the submission hooks (checks, plates,
    CPIs, measured apart) switched off so that only validation and insert share the cores."""
    import django

    django.setup()
    from batches import intake

    intake.on_enter_schedule = lambda **kwargs: None


def _intake_chunk(job: tuple[int, int, int]) -> tuple[float, float]:
    """One chunk through batch_chunk_process as a chunk task runs it: (start, commit) on the
    system-wide monotonic clock."""
    from django.db import transaction

    from batches import intake, services

    batch_id, first, last = job
    committed: list[float] = []
    original = intake.rows_intake

    def rows_intake(**kwargs):
        transaction.on_commit(lambda: committed.append(time.monotonic()))
        return original(**kwargs)

    intake.rows_intake = rows_intake
    try:
        start = time.monotonic()
        services.batch_chunk_process(batch_id=batch_id, first_row=first, last_row=last)
    finally:
        intake.rows_intake = original
    return start, committed[0]


def batch_stored(user, rows: list[dict]):
    """The rows received as a JSON batch (batch_receive) and marked processing; the bench runs its
    chunks itself (the processing task waits on the stopped worker's queue, purged at the end)."""
    from batches import services
    from batches.models import BatchState

    batch, _created = services.batch_receive(
        user=user,
        idempotency_key=str(uuid.uuid4()),
        content_sha256=services.content_hash_json(rows),
        source="json",
        rows=[services.RowInput(row_number=n, data=row) for n, row in enumerate(rows, start=1)],
    )
    batch.state = BatchState.PROCESSING
    batch.save(update_fields=["state"])
    return batch


def intake_two_processes(user, rows: list[dict]) -> tuple[float, int]:
    """The rows stored as a received batch, then its chunks through batch_chunk_process in
    CONCURRENCY processes taking them in turn, as the worker's pool does; (seconds from the first
    chunk's start to the last chunk's commit, accepted rows)."""
    from batches import services

    batch = batch_stored(user, rows)
    size = services.chunk_size()
    jobs = [(batch.pk, first, min(first + size - 1, len(rows))) for first in range(1, len(rows) + 1, size)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(CONCURRENCY, initializer=_intake_init) as pool:
        pool.map(_ready, range(CONCURRENCY), chunksize=1)  # both processes ready
        if ANALYZER:
            ANALYZER.vacuum()
        times = pool.map(_intake_chunk, jobs, chunksize=1)
    batch.refresh_from_db()
    return max(end for _start, end in times) - min(start for start, _end in times), batch.valid


def _ready(_n: int) -> int:
    return os.getpid()


# --- validation + insert in this process, beside a raw COPY ---------------------------------------


def intake_in_process(user, rows: list[dict], *, profile: bool) -> dict:
    """The rows stored as a received batch, then each chunk through batch_chunk_process as the
    worker runs it; its hooks' tasks go to the broker, purged afterwards. Per chunk: the time to
    its commit (validation and insert) and of its after-commit hooks (checks enqueued, plates, CPIs
    issued)."""
    import cProfile
    import pstats

    from django.db import transaction

    from batches import intake, services
    from batches.models import BatchRow

    batch = batch_stored(user, rows)
    committed: list[float] = []
    intake_seconds: list[float] = []
    original = intake.rows_intake
    intake_profile = cProfile.Profile() if profile else None
    hooks_profile = cProfile.Profile() if profile else None

    def chunk_committed() -> None:
        committed.append(time.perf_counter())
        if hooks_profile:
            hooks_profile.enable()

    def rows_intake(**kwargs):
        # Registered before the hooks: runs first after the chunk's commit.
        transaction.on_commit(chunk_committed)
        if intake_profile:
            intake_profile.enable()
        start = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            intake_seconds.append(time.perf_counter() - start)
            if intake_profile:
                intake_profile.disable()

    numbers = list(
        BatchRow.objects.filter(batch=batch).order_by("row_number").values_list("row_number", flat=True)
    )
    size = services.chunk_size()
    chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
    intake.rows_intake = rows_intake
    insert_seconds = hooks_seconds = 0.0
    try:
        for n, chunk in enumerate(chunks):
            if ANALYZER is not None and n % 4 == 0:
                # Untimed: on a fresh database the tables grow by 2,000 rows every 4 chunks (and the
                # hooks plate them), faster than the 5-second thread refreshes their statistics.
                ANALYZER.vacuum()
            committed.clear()
            start = time.perf_counter()
            services.batch_chunk_process(batch_id=batch.pk, first_row=chunk[0], last_row=chunk[-1])
            end = time.perf_counter()
            if hooks_profile:
                hooks_profile.disable()
            insert_seconds += committed[0] - start
            hooks_seconds += end - committed[0]
    finally:
        intake.rows_intake = original
    for label, profiler in (("rows_intake", intake_profile), ("the after-commit hooks", hooks_profile)):
        if profiler is None:
            continue
        for order in ("tottime", "cumulative"):
            out(f"  cProfile of {label}, top 25 by {order}:")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats(order).print_stats(25)
    batch.refresh_from_db()
    return {
        "batch": batch,
        "insert": insert_seconds,
        "rows_intake": sum(intake_seconds),
        "hooks": hooks_seconds,
        "chunks": len(chunks),
    }


# The tables the intake inserts into, each with the rows of the batch's accepted vehicles.
def _written_rows(cursor, batch_id: int) -> list[tuple[str, list[str], list[list]]]:
    """(table, columns, rows) of every row the intake inserted for the batch's accepted vehicles:
    vehicles, holders, dossiers and their audit events, JSON as text, read before any timing."""
    dossiers = "SELECT dossier_id FROM batches_batchrow WHERE batch_id = %s"
    wheres = (
        ("dossiers_vehicle", f"id IN (SELECT vehicle_id FROM dossiers_dossier WHERE id IN ({dossiers}))"),
        ("dossiers_holder", f"id IN (SELECT holder_id FROM dossiers_dossier WHERE id IN ({dossiers}))"),
        ("dossiers_dossier", f"id IN ({dossiers})"),
        ("dossiers_dossierevent", f"dossier_id IN ({dossiers})"),
    )
    written = []
    for table, where in wheres:
        cursor.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", [batch_id])  # noqa: S608
        columns = [c.name for c in cursor.description]
        values = [
            [json.dumps(v) if isinstance(v, dict | list) else v for v in row] for row in cursor.fetchall()
        ]
        written.append((table, columns, values))
    return written


def raw_copy(batch_id: int) -> tuple[float, int]:
    """COPY the very rows the intake inserted (vehicles, holders, dossiers, their audit events)
    into the same tables, with their constraints, indexes and triggers, and no validation or
    application code: new ids, a changed VIN and reference (the unique keys), no plate yet, the deferred
    foreign keys checked (SET CONSTRAINTS ALL IMMEDIATE), then rolled back, the database left as it
    was; (seconds, vehicles)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        written = _written_rows(cursor, batch_id)
    shift = 1_000_000_000
    moved = {}
    for table, columns, values in written:
        at = {name: i for i, name in enumerate(columns)}
        for row in values:
            row[at["id"]] += shift
            for key in ("vehicle_id", "holder_id", "dossier_id"):
                if key in at:
                    row[at[key]] += shift
            if table == "dossiers_vehicle":
                # As inserted: the plate comes after, from the national series.
                row[at["vin"]], row[at["plate"]] = "RAW" + row[at["vin"]][3:], None
            if table == "dossiers_dossier":
                row[at["reference"]] = "RAW" + row[at["reference"]]
        moved[table] = (columns, values)
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, (columns, values) in moved.items():
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return seconds, len(moved["dossiers_vehicle"][1])


def raw_copy_bare(batch_id: int) -> tuple[float, int]:
    """The same vehicles, holders and dossiers (no events) into bare tables of the same shape
    (columns, defaults, indexes; no foreign keys), in one transaction: the floor of the floor,
    printed for reference; (seconds, vehicles)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        written = _written_rows(cursor, batch_id)[:3]
        for table, _columns, _values in written:
            cursor.execute(f"DROP TABLE IF EXISTS bench_raw_{table}")
            cursor.execute(f"CREATE TABLE bench_raw_{table} (LIKE {table} INCLUDING ALL)")
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, values in written:
            with cursor.cursor.copy(f"COPY bench_raw_{table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        for table, _columns, _values in written:
            cursor.execute(f"DROP TABLE bench_raw_{table}")
    return seconds, len(written[0][2])


def intake_measure(args: argparse.Namespace, *, user, rows: list[dict], twin_rows: list[dict]) -> str:
    out()
    out(
        f"validation + insert of {args.count:,} other rows, worker stopped, chunk by chunk (batch_chunk_process):"
    )
    with ANALYZER.quiet if ANALYZER else contextlib.nullcontext():
        intake = intake_in_process(user, rows, profile=args.profile)
        accepted = intake["batch"].valid
        if ANALYZER:
            ANALYZER.vacuum()
        copy_seconds, copied = raw_copy(intake["batch"].pk)
        bare_seconds, bare = raw_copy_bare(intake["batch"].pk)
        queues_purge()
        two_seconds, two_accepted = intake_two_processes(user, twin_rows)
    intake_rate = accepted / intake["insert"]
    two_rate = two_accepted / two_seconds
    copy_rate = copied / copy_seconds
    verdict = "OK" if two_rate >= TARGET_COPY_SHARE * copy_rate else "MISSED"
    out(
        f"  raw COPY of the rows the intake inserted (vehicles, holders, dossiers, audit events) into "
        f"the same tables, constraints checked, rolled back: {copy_seconds:.2f} s = {copy_rate:,.0f} rows/s"
    )
    out(
        f"  in the worker's {CONCURRENCY} processes (chunks taken in turn, the submission hooks off): "
        f"{two_accepted:,} accepted in {two_seconds:.2f} s = {two_rate:,.0f} rows/s = "
        f"{two_rate / copy_rate:.0%} of the raw COPY (target >= {TARGET_COPY_SHARE:.0%}): {verdict}"
    )
    out(
        f"  in this one process: {accepted:,} accepted of {len(rows):,} in {intake['insert']:.2f} s "
        f"(to each chunk's commit) = {intake_rate:,.0f} rows/s = {intake_rate / copy_rate:.0%} of the raw "
        f"COPY; batches.intake.rows_intake {intake['rows_intake']:.2f} s of it, the rest the rows' lock "
        "and load, and the commits"
    )
    out(
        f"  for reference, the vehicles, holders, dossiers alone into bare tables without foreign keys: "
        f"{bare_seconds:.2f} s = {bare / bare_seconds:,.0f} rows/s"
    )
    out(
        f"  after-commit hooks in this process (checks enqueued, plates, CPIs issued): {intake['hooks']:.2f} s "
        f"= {accepted / intake['hooks']:,.0f} rows/s"
    )
    return verdict


# --- the run --------------------------------------------------------------------------------------


# The bench's VACUUM (ANALYZE) when the server's autovacuum is off (see Autovacuum), else None.
ANALYZER: "Autovacuum | None" = None


def run(args: argparse.Namespace, *, media: Path, processes: list[subprocess.Popen]) -> None:
    global ANALYZER
    autovacuum = Autovacuum(os.environ["DATABASE_URL"])
    if autovacuum.needed():
        ANALYZER = autovacuum
        autovacuum.vacuum()
        autovacuum.start()
        out(
            f"autovacuum is off on this server: the bench runs VACUUM (ANALYZE) of the {len(WRITTEN_TABLES)} "
            f"tables a batch writes every {VACUUM_EVERY_S:.0f} s, as a live database's statistics would be"
        )
    try:
        measure(args, media=media, processes=processes)
    finally:
        autovacuum.stop.set()
        if autovacuum.is_alive():
            autovacuum.join(timeout=120)
    if autovacuum.runs:
        out(f"VACUUM (ANALYZE) runs during the bench: {autovacuum.runs}")


def measure(args: argparse.Namespace, *, media: Path, processes: list[subprocess.Popen]) -> None:
    queues_purge()
    user, secret = dealer_create()
    small_rows = vehicle_rows(args.small, series="SMALL")
    large_rows = vehicle_rows(args.count, series="LARGE")
    again_rows = vehicle_rows(args.count, series="RERUN")
    twin_rows = vehicle_rows(args.count, series="TWPRC")
    if args.intake_only:
        intake_measure(args, user=user, rows=again_rows, twin_rows=twin_rows)
        return

    start = time.perf_counter()
    worker = worker_start(media)
    processes.append(worker)
    out(
        f"worker: celery -A portal worker -Q {','.join(QUEUES)} --pool prefork --concurrency {CONCURRENCY} "
        f"(answered in {time.perf_counter() - start:.1f} s, renderer warmed up)"
    )
    web, base = web_start(media)
    processes.append(web)
    out(f"web: gunicorn portal.wsgi, 1 sync worker, on {base}; load {load()}")

    small = batch_run(
        f"small batch ({args.small})", base=base, secret=secret, rows=small_rows, target=TARGET_SMALL_S
    )
    large = batch_run(
        f"large batch ({args.count:,})", base=base, secret=secret, rows=large_rows, target=TARGET_LARGE_S
    )
    out(f"  load after: {load()}")

    out()
    out("peak memory (VmHWM) of each process:")
    peaks = [("web", p) for p in group_peaks(web)] + [("worker", p) for p in group_peaks(worker)]
    for role, (pid, ppid, name, peak) in peaks:
        kind = "main" if pid in (web.pid, worker.pid) else f"child of {ppid}"
        out(f"  {role:6} {pid:>7} ({kind}) {name[:50]:50} {mb(peak):>7}")
    worst = max(peak for _role, (_pid, _ppid, _name, peak) in peaks)
    verdict = "OK" if worst < TARGET_PEAK_MB * 1024 * 1024 else "MISSED"
    out(f"  largest {mb(worst)} (target < {TARGET_PEAK_MB} MB): {verdict}")
    for process in (web, worker):
        process_stop(process)
        processes.remove(process)
    queues_purge()

    out()
    raw_rate, raw_median = raw_weasyprint(large["batch_id"], args.raw)
    large_render = large["last_rendered"] - large["first_rendered"]
    pipeline_rate = (large["rendered"] - 1) / large_render if large_render > 0 else 0.0
    out(
        f"raw WeasyPrint: {args.raw} full CPI renders in {CONCURRENCY} processes = {raw_rate:.1f} CPIs/s "
        f"(median {raw_median * 1000:.0f} ms each)"
    )
    out(
        f"  batch CPIs {pipeline_rate:,.0f}/s (first to last render, while the rows were still being "
        f"checked) = {pipeline_rate / raw_rate:.0f}x raw WeasyPrint"
    )

    verdict = intake_measure(args, user=user, rows=again_rows, twin_rows=twin_rows)
    out(f"  this process's peak memory: {mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}")
    out()
    out(
        "targets: "
        + ", ".join(
            [
                f"small batch {small['verdict']}",
                f"large batch {large['verdict']}",
                f"memory {'OK' if worst < TARGET_PEAK_MB * 1024 * 1024 else 'MISSED'}",
                f"intake/COPY {verdict}",
            ]
        )
    )
    out(f"load at the end: {load()}")


if __name__ == "__main__":
    sys.exit(main())
