"""Allocation of the national plate series: consecutive, never twice, never a plate already on a vehicle."""

import itertools
import threading

import pytest
from django.db import connection

from dossiers.models import Vehicle
from dossiers.plates import (
    PLATE_COUNT,
    PlateSeriesExhausted,
    allocate_plate,
    allocate_plates,
    plate_from_ordinal,
    plate_to_ordinal,
)

_vin_numbers = itertools.count(1)


def vehicle_with_plate(plate: str) -> Vehicle:
    return Vehicle.objects.create(
        vin=f"VF1TEST{next(_vin_numbers):010d}",
        plate=plate,
        make="RENAULT",
        commercial_name="CLIO",
        genre="VP",
        energy="ES",
        fiscal_power=5,
    )


@pytest.mark.django_db
def test_sequential_allocation_gives_consecutive_plates_from_the_configured_start(settings):
    settings.PLATE_SERIES_START = plate_to_ordinal("AA-998-AA")
    assert [allocate_plate() for _ in range(4)] == ["AA-998-AA", "AA-999-AA", "AA-001-AB", "AA-002-AB"]


@pytest.mark.django_db
def test_allocation_skips_a_plate_already_on_a_vehicle(settings):
    settings.PLATE_SERIES_START = 0
    vehicle_with_plate("AA-002-AA")
    vehicle_with_plate("AA-003-AA")
    assert [allocate_plate() for _ in range(3)] == ["AA-001-AA", "AA-004-AA", "AA-005-AA"]


@pytest.mark.django_db
def test_batch_allocation_reserves_a_range_and_replaces_used_plates(settings):
    settings.PLATE_SERIES_START = 0
    vehicle_with_plate("AA-002-AA")
    vehicle_with_plate("AA-004-AA")
    assert allocate_plates(4) == ["AA-001-AA", "AA-003-AA", "AA-005-AA", "AA-006-AA"]
    assert allocate_plate() == "AA-007-AA"


@pytest.mark.django_db
def test_allocation_stops_with_a_clear_error_when_the_series_is_exhausted(settings):
    settings.PLATE_SERIES_START = PLATE_COUNT - 2
    assert allocate_plates(2) == ["ZZ-998-ZZ", "ZZ-999-ZZ"]
    with pytest.raises(PlateSeriesExhausted, match="exhausted"):
        allocate_plate()


@pytest.mark.django_db
def test_batch_running_past_the_last_plate_is_refused(settings):
    settings.PLATE_SERIES_START = PLATE_COUNT - 2
    with pytest.raises(PlateSeriesExhausted):
        allocate_plates(3)


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_never_get_the_same_plate(postgres, settings):
    settings.PLATE_SERIES_START = 0
    preexisting = {plate_from_ordinal(n) for n in (10, 50, 51, 120)}
    for plate in preexisting:
        vehicle_with_plate(plate)

    allocated: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def single_caller() -> None:
        try:
            start.wait()
            plates = [allocate_plate() for _ in range(25)]
            with lock:
                allocated.extend(plates)
        except Exception as exc:  # reported by the main thread, which asserts there is none
            failures.append(exc)
        finally:
            connection.close()

    def batch_caller() -> None:
        try:
            start.wait()
            plates = [plate for _ in range(5) for plate in allocate_plates(5)]
            with lock:
                allocated.extend(plates)
        except Exception as exc:  # reported by the main thread, which asserts there is none
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=single_caller) for _ in range(4)]
    threads += [threading.Thread(target=batch_caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not failures
    assert len(allocated) == 200
    assert len(set(allocated)) == 200
    assert not preexisting & set(allocated)
    # No ordinal was lost: the 200 plates and the 4 pre-existing ones fill the start of the series.
    assert {plate_to_ordinal(p) for p in allocated} | {plate_to_ordinal(p) for p in preexisting} == set(
        range(204)
    )
