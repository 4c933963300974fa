"""The pdf queue on the real broker: a batch's documents are rendered by chunks, and certificates
and CPIs (someone waits to drive) are taken before letters and receipts, even ones queued earlier."""

import pytest

from cert_workflow.documents import render_queue
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers import transitions
from dossiers.models import State
from portal.celery import app
from tests import factories
from tests.celery_worker import purge_broker

pytestmark = pytest.mark.django_db

RENDER_TASK = "cert_workflow.tasks.render_documents"


@pytest.fixture
def broker(redis_url):
    """Tasks go to Redis for real (no worker runs here); the queues are emptied before and after."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    purge_broker(redis_url)
    yield redis_url
    purge_broker(redis_url)
    app.conf.task_always_eager = previous


def pdf_queue_in_order(broker_url: str) -> list[list[int]]:
    """The document ids of every rendering task on the pdf queue, in the order a worker takes them."""
    tasks = []
    with app.connection_for_read(broker_url) as connection:
        channel = connection.default_channel
        while (message := channel.basic_get("pdf", no_ack=True)) is not None:
            assert message.headers["task"] == RENDER_TASK
            args, _kwargs, _embed = message.decode()
            tasks.append(args[0])
    return tasks


def batch_submit(capture, dossiers, actor) -> list[int]:
    """Submit these drafts together, as one batch, with what the submission starts sent after commit."""
    with capture(execute=True):
        moved = transitions.dossier_transition_many(
            dossier_ids=[d.pk for d in dossiers], to=State.SUBMITTED, actor=actor
        )
    assert len(moved) == len(dossiers)
    return moved


def test_batch_submission_puts_cpis_ahead_of_receipts_queued_earlier_and_chunks_the_receipts(
    broker, settings, django_capture_on_commit_callbacks
):
    settings.RENDER_LETTER_CHUNK_SIZE = 4
    factories.CertFactory(departments=["25"])
    citizen = factories.citizen()
    dealer = factories.dealer()
    # A batch of citizens' submissions first: receipts only.
    earlier = batch_submit(
        django_capture_on_commit_callbacks, [factories.draft(filed_by=citizen) for _ in range(12)], citizen
    )
    # Then a dealer's batch of first registrations: a CPI each, then a receipt each.
    dealers = batch_submit(
        django_capture_on_commit_callbacks, [factories.draft(filed_by=dealer) for _ in range(12)], dealer
    )

    tasks = pdf_queue_in_order(broker)

    kinds = dict(IssuedDocument.objects.values_list("pk", "kind"))
    task_kinds = [{kinds[pk] for pk in task} for task in tasks]
    assert all(len(k) == 1 for k in task_kinds), "a task renders documents of one kind"
    order = [k.pop() for k in task_kinds]
    cpi_tasks = order.count(DocumentKind.CPI)
    # Every CPI is taken before any receipt, although 12 receipts were queued before them.
    assert cpi_tasks > 0 and set(order[:cpi_tasks]) == {DocumentKind.CPI}
    assert set(order[cpi_tasks:]) == {DocumentKind.RECEIPT}
    # Receipts go by chunks of at most 4, each receipt exactly once, the earlier batch first.
    receipts = [task for task, kind in zip(tasks, order, strict=True) if kind == DocumentKind.RECEIPT]
    assert len(receipts) < 24 and max(len(task) for task in receipts) <= 4
    rendered_for = dict(IssuedDocument.objects.values_list("pk", "dossier_id"))
    queued = [rendered_for[pk] for task in receipts for pk in task]
    assert sorted(queued) == sorted(earlier + dealers)
    assert set(queued[: len(earlier)]) == set(earlier)


def test_a_single_decision_gets_one_task_per_document(broker, django_capture_on_commit_callbacks):
    factories.CertFactory(departments=["25"])
    dealer = factories.dealer()
    draft = factories.draft(filed_by=dealer)

    batch_submit(django_capture_on_commit_callbacks, [draft], dealer)

    tasks = pdf_queue_in_order(broker)
    documents = IssuedDocument.objects.filter(dossier=draft)
    assert tasks == [
        [documents.get(kind=DocumentKind.CPI).pk],
        [documents.get(kind=DocumentKind.RECEIPT).pk],
    ]


@pytest.mark.parametrize(
    ("count", "letters", "sizes"),
    [
        (100, True, [7] * 4 + [6] * 12),  # 13 chunks of 8 would leave one process a chunk alone
        (10, True, [2, 2] + [1] * 6),  # spread over RENDER_MIN_TASKS (8) tasks
        (3, True, [1, 1, 1]),
        (1000, False, [63] * 8 + [62] * 8),
        (250, False, [32, 32] + [31] * 6),
        (0, True, []),
    ],
)
def test_render_chunks_are_near_equal_small_for_letters_and_a_multiple_of_min_tasks(
    settings, count, letters, sizes
):
    settings.RENDER_LETTER_CHUNK_SIZE = 8
    settings.RENDER_CHUNK_SIZE = 100
    settings.RENDER_MIN_TASKS = 8
    chunks = render_queue.render_chunks(document_ids=list(range(1, count + 1)), letters=letters)
    assert [len(chunk) for chunk in chunks] == sizes
    assert [pk for chunk in chunks for pk in chunk] == list(range(1, count + 1))
