"""Demo destinations: one national and one provincial destination pointing at the app's own loopback
receiver (``/exchange/loopback/<kind>/``, enabled under ``liftsafe demo``), so the demo's send log shows
real HTTP traffic sent by the worker's periodic jobs. Called by :func:`liftsafe.demo.services.create_accounts`.
"""
from __future__ import annotations

import os
import secrets
import sys

from django.db.models import Q
from django.utils import timezone

from liftsafe.core.models import Area

from .models import Destination

NATIONAL = "国家平台（演示回环） National platform (demo loopback)"
PROVINCIAL = "省级数据中心（演示回环） Provincial data centre (demo loopback)"


def demo_base_url(argv: list[str] | None = None) -> str:
    """Where the demo web server listens: ``LIFTSAFE_DEMO_BASE_URL``, else ``--host``/``--port`` of the running
    ``liftsafe demo`` command line, else ``http://127.0.0.1:8000``."""
    env = os.environ.get("LIFTSAFE_DEMO_BASE_URL", "").strip()
    if env:
        return env.rstrip("/")
    argv = list(sys.argv if argv is None else argv)
    opts = {"--port": "8000", "--host": "127.0.0.1"}
    for i, a in enumerate(argv):
        for k in opts:
            if a == k and i + 1 < len(argv):
                opts[k] = argv[i + 1]
            elif a.startswith(k + "="):
                opts[k] = a.split("=", 1)[1]
    host = opts["--host"] if opts["--host"] not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{opts['--port']}"


def ensure_demo_destinations(city_code: str = "US-NY-NYC", borough: str = "Manhattan") -> list[Destination]:
    """Create (once) or re-point the two demo destinations; idempotent. The national one takes every
    elevator's cases; the provincial one the borough's. Their watermark starts at creation, so they carry
    the live demo traffic (not the whole 2023 replay)."""
    base = demo_base_url()
    boro = Area.objects.filter(parent__code=city_code).filter(Q(name_en__iexact=borough) | Q(name__iexact=borough)).first()
    out = []
    for name, kind, adapter, area in ((NATIONAL, "national", "national", None), (PROVINCIAL, "provincial", "provincial-csv", boro)):
        url = f"{base}/exchange/loopback/{kind}/"
        d = Destination.objects.filter(name=name).first()
        if d is None:
            d = Destination.objects.create(name=name, kind=kind, adapter=adapter, endpoint_url=url, area=area,
                                           auth_token=secrets.token_urlsafe(24), record_types=["case"], batch_size=100,
                                           rate_limit_per_min=30, timeout_s=10, watermark=timezone.now())
        elif d.endpoint_url != url:
            Destination.objects.filter(pk=d.pk).update(endpoint_url=url)
        out.append(d)
    return out
