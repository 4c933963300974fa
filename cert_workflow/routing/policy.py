"""Which centre a dossier goes to, as a pure function of the projected waits: its home centre
unless that centre's wait exceeds the best one's by more than the margin. No database here; the
routing services feed it and apply its answers.

The projected wait is defined once, here: a centre's open work (its dossiers queued and in review,
the work its agents still have to do) over its daily capacity. Routing compares it, the rebalance
evens it out, and supervision shows it.
"""

# Reason codes stored in RoutingDecision.reason.
HOME = "home"  # the home centre's wait is within the margin of the best one
HOME_OVERLOADED = "home_overloaded"  # the home centre's wait exceeds the best one's by more than the margin
NO_HOME_CENTRE = "no_home_centre"  # no centre lists the holder's department
HOME_INACTIVE = "home_inactive"  # the home centre is paused (or does not handle the procedure)
ABOVE_NATIONAL_MEAN = "above_national_mean"  # moved by the rebalance
SUPERVISOR = "supervisor"  # moved by hand
# Waits are sums of 1/capacity steps: compare them with a tolerance so that "more than the margin"
# does not flip on a rounding error.
EPSILON = 1e-9


def projected_wait_days(*, open_work: int, daily_capacity: int) -> float | None:
    """Working days a centre needs to clear `open_work` dossiers (queued and in review) at
    `daily_capacity` a day; None when work waits and nothing can clear it (no capacity)."""
    if daily_capacity <= 0:
        return None if open_work else 0.0
    return open_work / daily_capacity


class NoCentreAvailable(Exception):
    """No active centre handles the procedure: the dossier stays `submitted` for the sweep to retry."""


def route_policy(*, home: str | None, waits: dict[str, float], margin_days: float) -> tuple[str, str]:
    """The centre to send a dossier to, and why: home unless its wait exceeds the best by > margin.

    `waits` maps each candidate centre (active, handling the procedure) to its projected wait in
    days. Ties between candidates go to the smallest code, so the same input gives the same answer.
    """
    if not waits:
        raise NoCentreAvailable
    best = min(waits, key=lambda code: (waits[code], code))
    if home is None:
        return best, NO_HOME_CENTRE
    if home not in waits:
        return best, HOME_INACTIVE
    if waits[home] - waits[best] > margin_days + EPSILON:
        return best, HOME_OVERLOADED
    return home, HOME
