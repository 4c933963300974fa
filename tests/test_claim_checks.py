"""No agent is handed a dossier whose automatic checks never ran: the claim skips it (both the
PostgreSQL statement and the ORM path of the embedded mode), the sweep runs its checks so that it
becomes claimable where it waits, and the demo data queues only checked dossiers."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cert_workflow import sweeps
from cert_workflow.models import Assessment, CheckResult, Risk, SweepAction
from cert_workflow.review import claim
from dossiers import claim as dossiers_claim
from dossiers.models import Dossier, DossierEvent, State
from tests import factories
from tests.factories import queued_dossiers
from tracking import selectors as timeline_selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """A centre whose oldest and most urgent dossier was never checked, then a checked one."""
    cert = factories.CertFactory()
    start = timezone.now() - timedelta(days=3)
    owner = factories.citizen()
    (unchecked,) = queued_dossiers(cert=cert, owner=owner, since=start, priority=5, checked=False)
    (checked,) = queued_dossiers(cert=cert, owner=owner, since=start + timedelta(days=1), risk=Risk.HIGH)
    return cert, unchecked, checked


def test_the_claim_skips_a_dossier_whose_checks_never_ran(queue):
    """On SQLite the ORM path, on PostgreSQL the one statement: the same answer."""
    cert, unchecked, checked = queue
    agent = factories.agent(cert=cert)

    taken = claim.queue_claim_next(agent=agent)
    nothing = claim.queue_claim_next(agent=factories.agent(cert=cert))

    assert taken.pk == checked.pk and taken.state == State.IN_REVIEW
    assert nothing is None  # the unchecked one is not handed out, even to an idle agent
    assert Dossier.objects.get(pk=unchecked.pk).state == State.QUEUED
    assert not DossierEvent.objects.filter(dossier=unchecked).exists()


def test_the_orm_path_skips_it_too(queue):
    """The embedded mode's path, run whatever the database (it is the only one on SQLite)."""
    cert, unchecked, checked = queue
    agent = factories.agent(cert=cert)

    taken = dossiers_claim._claim_orm(agent=agent, order=claim.CLAIM_ORDER, ready=Assessment)
    nothing = dossiers_claim._claim_orm(
        agent=factories.agent(cert=cert), order=claim.CLAIM_ORDER, ready=Assessment
    )

    assert (taken.pk, nothing) == (checked.pk, None)
    assert Dossier.objects.get(pk=unchecked.pk).state == State.QUEUED


def test_the_postgresql_statement_skips_it(postgres, queue):
    cert, unchecked, checked = queue

    taken = claim.queue_claim_next(agent=factories.agent(cert=cert))

    assert taken.pk == checked.pk and not taken.resumed
    assert "EXISTS" in dossiers_claim._claim_sql(claim.CLAIM_ORDER, Assessment)
    assert Dossier.objects.get(pk=unchecked.pk).state == State.QUEUED


def test_the_sweep_runs_the_missing_checks_and_the_dossier_becomes_claimable_in_place(queue):
    cert, unchecked, _checked = queue
    before = Dossier.objects.values("state", "cert_id", "queued_at", "priority").get(pk=unchecked.pk)
    now = timezone.now()

    counts = sweeps.sweep_run(now=now)
    again = sweeps.sweep_run(now=now + timedelta(minutes=1))

    assert counts["checks_run_queued"] == 1 and again["checks_run_queued"] == 0
    after = Dossier.objects.values("state", "cert_id", "queued_at", "priority").get(pk=unchecked.pk)
    assert after == before  # still in its queue, at its place
    assessment = Assessment.objects.get(dossier=unchecked)
    assert assessment.route == Assessment.Route.REVIEW and assessment.risk in Risk.values
    assert CheckResult.objects.filter(dossier=unchecked).exists()
    assert SweepAction.objects.filter(kind=sweeps.CHECKS_RUN_QUEUED, dossier=unchecked).count() == 1
    event = DossierEvent.objects.get(dossier=unchecked, action=sweeps.CHECKS_RUN_QUEUED)
    assert "Contrôles automatiques faits" in event.reason
    timeline = [entry.text for entry in timeline_selectors.dossier_timeline(dossier=unchecked)]
    assert (
        "Les vérifications automatiques de votre dossier ont été faites." in timeline
    )  # the applicant's words

    # Now the most urgent dossier of the queue, it is the next one handed out.
    assert claim.queue_claim_next(agent=factories.agent(cert=cert)).pk == unchecked.pk


def test_demo_data_queues_only_checked_dossiers(settings, tmp_path, nine_certs):
    settings.DEBUG = True
    settings.MEDIA_ROOT = str(tmp_path)

    call_command("seed_demo", "--password", "mot-de-passe-demo-test", stdout=StringIO())

    waiting = Dossier.objects.filter(state__in=(State.QUEUED, State.IN_REVIEW, State.AWAITING_COMPLEMENT))
    assert waiting.filter(state=State.QUEUED).count() >= 9
    assert list(waiting.filter(assessment__isnull=True).values_list("reference", flat=True)) == []
    # Every queued demo dossier can be taken by its centre's agent.
    assert sweeps.sweep_run()["checks_run_queued"] == 0
