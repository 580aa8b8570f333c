"""Emergency's handlers of other apps' flows (registered in :class:`~liftsafe.emergency.apps.EmergencyConfig`)."""
from __future__ import annotations

import datetime as dt


def intake_entrapment_alarm(*, elevator, received_at: dt.datetime, details: dict, source_ref: str,
                            idempotency_key: str, car_position: str = "") -> int:
    """Flow ``monitoring.entrapment_alarm``: open (or attach to) the elevator's case for an IoT entrapment alarm.

    Calls :func:`liftsafe.emergency.services.intake_alarm` with ``channel="iot"``,
    ``case_type="entrapment"``; returns the case's primary key. Idempotent through
    ``idempotency_key``; raises what the intake raises (ValidationError ...).
    """
    from . import services

    return services.intake_alarm(elevator, channel="iot", case_type="entrapment", received_at=received_at,
                                 details=details, source_ref=source_ref, idempotency_key=idempotency_key,
                                 car_position=car_position).case.pk
