"""PDF benchmark: certificates and CPIs through the real pipeline against raw WeasyPrint renders.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cg_dev REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/pdf.py [--count 1000] [--raw 200]

Needs PostgreSQL and Redis. The bench creates its own database (`--database`, default cg_bench_pdf;
dropped and re-created at the start, dropped at the end unless --keep), migrates it, starts a real
Celery worker (prefork, concurrency 2, `pdf` queue only) and measures in one run:

- cold: a fresh worker renders a first small batch (its processes lay each form out once);
- warm: `--count` approved first registrations issued set-based (issuing.approved_documents_issue:
  plate, serial, frozen data, one task per chunk), giving `--count` certificates and `--count` CPIs
  rendered, stored and recorded by the worker, the dossiers moved to `issued`;
- raw: `--raw` full WeasyPrint renders (full_render.render_document_full) of the same frozen data in
  two processes (the same two cores as the worker), first render and the following ones apart;
- letters: receipts through the pipeline against the same receipts rendered raw in two processes,
  also as CPU time per letter (the worker's processes against the raw ones), which the other
  tenants of a shared machine disturb less than the wall clock;
- the PDF sizes of each path, and the machine's load average before and after.

A pipeline run ends at its last document's record (IssuedDocument.rendered_at, written by the
worker), so the bench's own polling, kept slow and cheap, neither adds latency nor competes for
the cores it measures.

Targets (issue 4): certificates and CPIs at least 10x raw WeasyPrint throughput (20x the aim), every
PDF under 100 KB, letters through the pipeline at 85% or more of raw WeasyPrint.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:] = [str(BASE_DIR)] + [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "bench"]

import argparse  # noqa: E402
import base64  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from bench._common import database_recreate, out, with_database  # noqa: E402

TARGET_RATIO = 10.0
TARGET_MAX_KB = 100
TARGET_LETTER_SHARE = 0.85
CONCURRENCY = 2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="certificates (and as many CPIs) to render")
    parser.add_argument("--raw", type=int, default=200, help="full WeasyPrint renders for the baseline")
    parser.add_argument("--letters", type=int, default=None, help="receipts (default: --raw // 2)")
    parser.add_argument("--cold", type=int, default=10, help="dossiers of the cold batch")
    parser.add_argument("--database", default="cg_bench_pdf", help="name of the bench's own database")
    parser.add_argument("--keep", action="store_true", help="keep the bench database at the end")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(server_url).scheme not in ("postgres", "postgresql", "pgsql") or not os.environ.get(
        "REDIS_URL"
    ):
        out(
            "bench/pdf.py: skipped: it needs PostgreSQL and Redis (a real worker). "
            "Set DATABASE_URL=postgres://user@host:5432/any_database and REDIS_URL=redis://host:6379/N."
        )
        return 0
    if urlsplit(server_url).path.lstrip("/") == args.database:
        out(f"--database {args.database} is DATABASE_URL's own database: choose another name.")
        return 2
    media = tempfile.mkdtemp(prefix="cg-bench-pdf-")
    os.environ.update(
        {
            "DATABASE_URL": with_database(server_url, args.database),
            "MEDIA_ROOT": media,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
        }
    )
    os.environ.setdefault("SECRET_KEY", "bench-only-key-never-served-0123456789abcdef")
    if not (os.environ.get("DOCUMENT_SIGNING_KEY") or os.environ.get("DOCUMENT_SIGNING_KEY_FILE")):
        os.environ["DOCUMENT_SIGNING_KEY"] = base64.b64encode(os.urandom(32)).decode()
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        os.environ.setdefault(name, "0")

    out(f"== bench/pdf.py: {args.count:,} certificates + {args.count:,} CPIs, {args.raw} raw renders")
    database_recreate(server_url=server_url, name=args.database)
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        worker = worker_start()
        run(args, worker=worker)
    finally:
        if worker is not None:
            worker_stop(worker)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(server_url=server_url, name=args.database, drop_only=True)
        subprocess.run(["rm", "-rf", media], check=False)
    return 0


# --- the worker -----------------------------------------------------------------------------------


def worker_start() -> subprocess.Popen:
    from portal.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("pdf")
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "warning",
        "--queues", "pdf", "--pool", "prefork", "--concurrency", str(CONCURRENCY),
        "--hostname", f"bench-pdf-{os.getpid()}@%h", "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    log = open(Path(os.environ["MEDIA_ROOT"]) / "worker.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the worker exited at start: see " + log.name)
        replies = app.control.ping(timeout=0.5)
        if any(name.startswith(f"bench-pdf-{os.getpid()}@") for reply in replies for name in reply):
            return process
    raise RuntimeError("the worker did not answer within 60 s")


def worker_stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


# --- data -----------------------------------------------------------------------------------------


def approved_dossiers(count: int, *, start: int) -> list[int]:
    """`count` approved first registrations of new vehicles (no plate yet), written directly."""
    from django.utils import timezone

    from dossiers.models import Dossier, Holder, Procedure, State, Vehicle
    from portal.models import Role, User

    now = timezone.now()
    owner, _ = User.objects.get_or_create(email="usager@bench.example.fr", defaults={"role": Role.CITIZEN})
    vehicles = Vehicle.objects.bulk_create(
        [
            Vehicle(
                vin=f"VF1RFB00{start + i:09d}",
                make="RENAULT",
                type_variant_version="RFB0A2",
                cnit="M10RENVP000A123",
                commercial_name="MEGANE E-TECH" if i % 2 else "CLIO",
                max_mass_kg=1850,
                ptac_kg=1850,
                mass_kg=1350,
                empty_mass_kg=1280,
                eu_category="M1",
                genre="VP",
                eu_body="AB",
                body="CI",
                approval_number="e2*2007/46*0534*12",
                displacement_cm3=1332,
                power_kw=103,
                energy="ES",
                fiscal_power=7,
                seats=5,
                co2_g_km=128,
                euro_class="EURO6",
            )
            for i in range(count)
        ]
    )
    holders = Holder.objects.bulk_create(
        [
            Holder(
                holder_kind="person",
                last_name="Martin-Delacroix de la Tour d'Auvergne" if i % 7 == 0 else "Martin",
                first_names="Camille Louise",
                address_line=f"{i % 200 + 1} rue des Lilas",
                postcode="25000",
                city="Besançon",
                department="25",
            )
            for i in range(count)
        ]
    )
    dossiers = Dossier.objects.bulk_create(
        [
            Dossier(
                reference=f"CG-2026-{start + i:07d}",
                procedure=Procedure.FIRST_REGISTRATION,
                state=State.APPROVED,
                applicant=owner,
                filed_by=owner,
                vehicle=vehicle,
                holder=holder,
                submitted_at=now,
                decided_at=now,
                due_at=now + timezone.timedelta(hours=1),
                y1="322.00",
                y4="11.00",
                y5="2.76",
                y6="335.76",
            )
            for i, (vehicle, holder) in enumerate(zip(vehicles, holders, strict=True))
        ]
    )
    return [d.pk for d in dossiers]


POLL_SECONDS = 0.25


def wait_rendered(document_ids: list[int], *, since, timeout: float) -> float:
    """Seconds from `since` (an aware datetime) to the record of the last of these documents."""
    from django.db.models import Max

    from cert_workflow.models import IssuedDocument

    documents = IssuedDocument.objects.filter(pk__in=document_ids)
    start = time.perf_counter()
    while left := documents.filter(rendered_at__isnull=True).count():
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{left} documents still pending after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return (documents.aggregate(last=Max("rendered_at"))["last"] - since).total_seconds()


def pipeline(
    dossier_ids: list[int], *, kinds: tuple[str, ...], timeout: float
) -> tuple[float, float, list[int]]:
    """Issue these dossiers' documents (set-based, as a batch approval) and wait for the worker:
    (seconds to issue, seconds from issue to all rendered, document ids)."""
    from django.utils import timezone

    from cert_workflow.documents import issuing
    from cert_workflow.models import DocumentKind

    start = time.perf_counter()
    ids = []
    if DocumentKind.CERTIFICATE in kinds:
        issuing.approved_documents_issue(dossier_ids=dossier_ids)
        ids = list(
            issuing.IssuedDocument.objects.filter(dossier_id__in=dossier_ids).values_list("pk", flat=True)
        )
    for kind in kinds:
        if kind not in (DocumentKind.CERTIFICATE, DocumentKind.CPI):
            ids += issuing.documents_issue(dossier_ids=dossier_ids, kind=kind)
    issued = time.perf_counter() - start
    return issued, wait_rendered(ids, since=timezone.now(), timeout=timeout), ids


# --- raw WeasyPrint -------------------------------------------------------------------------------


def _raw_init() -> None:
    import django

    django.setup()


def _raw_render(job: tuple[str, dict, str | None]) -> tuple[float, int, float]:
    from cert_workflow.documents.full_render import render_document_full

    kind, data, url = job
    start, cpu = time.perf_counter(), time.process_time()
    pdf = render_document_full(kind=kind, data=data, verification_url=url)
    return time.perf_counter() - start, len(pdf), time.process_time() - cpu


def raw(jobs: list[tuple[str, dict, str | None]]) -> tuple[float, float, float, list[int], float]:
    """Render `jobs` in CONCURRENCY fresh processes, after one cold render each: (wall seconds of the
    warm run, slowest cold render s, median warm render s, sizes, CPU seconds of the warm run)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(CONCURRENCY, initializer=_raw_init) as pool:
        # Cold: each process's first render (fonts, templates); not counted in the throughput.
        cold = pool.map(_raw_render, jobs[:CONCURRENCY], chunksize=1)
        start = time.perf_counter()
        results = pool.map(_raw_render, jobs, chunksize=1)
        wall = time.perf_counter() - start
    times = [t for t, _size, _cpu in results]
    return (
        wall,
        max(t for t, _s, _c in cold),
        statistics.median(times),
        [s for _t, s, _c in results],
        sum(c for _t, _s, c in results),
    )


def worker_cpu(worker: subprocess.Popen) -> float:
    """CPU seconds used so far by the worker's processes (its own session: main and pool)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != worker.pid:
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg()) + f" (1/5/15 min, {os.cpu_count()} cores)"


def jobs_for(document_ids: list[int], count: int) -> list[tuple[str, dict, str | None]]:
    from cert_workflow.documents.data import FORM_KINDS
    from cert_workflow.documents.signing import verification_url
    from cert_workflow.models import IssuedDocument

    documents = IssuedDocument.objects.filter(pk__in=document_ids).select_related("dossier__vehicle")
    documents = list(documents.order_by("pk")[:count])
    return [(d.kind, d.data, verification_url(d) if d.kind in FORM_KINDS else None) for d in documents]


def sizes(document_ids: list[int], kind: str) -> list[int]:
    from cert_workflow.models import IssuedDocument

    return list(IssuedDocument.objects.filter(pk__in=document_ids, kind=kind).values_list("size", flat=True))


def kb(values: list[int]) -> str:
    if not values:
        return "-"
    return f"min {min(values) / 1024:.1f} KB, median {statistics.median(values) / 1024:.1f} KB, max {max(values) / 1024:.1f} KB"


# --- the run --------------------------------------------------------------------------------------


def run(args: argparse.Namespace, *, worker: subprocess.Popen) -> None:
    from cert_workflow.models import DocumentKind
    from dossiers.models import Dossier, State

    forms = (DocumentKind.CERTIFICATE, DocumentKind.CPI)
    timeout = 600 + args.count
    out(f"machine load   : {load()} before")

    cold_ids = approved_dossiers(args.cold, start=1)
    cold_issue, cold_render, cold_docs = pipeline(cold_ids, kinds=forms, timeout=timeout)
    out(
        f"pipeline cold  : {len(cold_docs)} documents rendered in {cold_render:.2f} s "
        f"({len(cold_docs) / cold_render:.1f} documents/s; issue {cold_issue * 1000:.0f} ms)"
    )

    warm_ids = approved_dossiers(args.count, start=10_000)
    warm_issue, warm_render, warm_docs = pipeline(warm_ids, kinds=forms, timeout=timeout)
    pipeline_rate = len(warm_docs) / warm_render
    out(
        f"pipeline warm  : {len(warm_docs)} certificates and CPIs in {warm_render:.2f} s "
        f"= {pipeline_rate:.1f} documents/s (issue {warm_issue:.2f} s for {len(warm_ids)} dossiers)"
    )
    issued = Dossier.objects.filter(pk__in=warm_ids, state=State.ISSUED).count()
    out(f"dossiers issued: {issued}/{len(warm_ids)}")

    raw_wall, raw_first, raw_median, raw_sizes, _cpu = raw(jobs_for(warm_docs, args.raw))
    raw_rate = args.raw / raw_wall
    out(
        f"raw WeasyPrint : {args.raw} full renders in {raw_wall:.2f} s = {raw_rate:.1f} documents/s "
        f"({CONCURRENCY} processes; cold first render {raw_first * 1000:.0f} ms, warm median {raw_median * 1000:.0f} ms)"
    )
    ratio = pipeline_rate / raw_rate
    out(f"ratio          : {ratio:.1f}x raw WeasyPrint (target >= {TARGET_RATIO:.0f}x, aim 20x)")

    letters = args.letters or max(1, args.raw // 2)
    letter_ids = warm_ids[:letters]
    cpu_before = worker_cpu(worker)
    _issue, letter_render, letter_docs = pipeline(letter_ids, kinds=(DocumentKind.RECEIPT,), timeout=timeout)
    letter_cpu = worker_cpu(worker) - cpu_before
    letter_rate = len(letter_docs) / letter_render
    raw_letter_wall, _f, _m, raw_letter_sizes, raw_letter_cpu = raw(jobs_for(letter_docs, len(letter_docs)))
    raw_letter_rate = len(letter_docs) / raw_letter_wall
    share = letter_rate / raw_letter_rate
    out(
        f"letters        : {len(letter_docs)} receipts, pipeline {letter_rate:.1f}/s vs raw {raw_letter_rate:.1f}/s "
        f"= {share:.0%} (target >= {TARGET_LETTER_SHARE:.0%})"
    )
    out(
        f"letters (CPU)  : {letter_cpu / len(letter_docs) * 1000:.0f} ms per receipt in the worker's processes vs "
        f"{raw_letter_cpu / len(letter_docs) * 1000:.0f} ms raw = {raw_letter_cpu / letter_cpu:.0%}"
    )

    certificate_sizes, cpi_sizes = (
        sizes(warm_docs, DocumentKind.CERTIFICATE),
        sizes(warm_docs, DocumentKind.CPI),
    )
    receipt_sizes = sizes(letter_docs, DocumentKind.RECEIPT)
    out(f"sizes          : certificate {kb(certificate_sizes)}")
    out(f"                 CPI {kb(cpi_sizes)}")
    out(f"                 receipt {kb(receipt_sizes)}")
    out(f"                 raw full render {kb(raw_sizes)}; raw receipt {kb(raw_letter_sizes)}")
    biggest = max(certificate_sizes + cpi_sizes + receipt_sizes)
    verdicts = [
        ("ratio", ratio >= TARGET_RATIO),
        ("sizes", biggest < TARGET_MAX_KB * 1024),
        ("letters", share >= TARGET_LETTER_SHARE),
        ("issued", issued == len(warm_ids)),
    ]
    out("targets        : " + ", ".join(f"{name} {'ok' if good else 'MISSED'}" for name, good in verdicts))
    out(f"machine load   : {load()} after")


if __name__ == "__main__":
    sys.exit(main())
