"""The typed JSON API: one NinjaAPI, each app mounts its router.

Authentication: the browser session (with CSRF) or an API token is accepted;
every endpoint reads through the app's selectors, which scope to the user.
"""
from ninja import NinjaAPI

from liftsafe.command.api import router as command_router
from liftsafe.core.api import router as core_router
from liftsafe.core.auth import api_auth
from liftsafe.core.errors import declare_error_responses
from liftsafe.core.errors import install as install_error_handlers
from liftsafe.core.input import FiniteJSONRenderer, StrictParser
from liftsafe.core.history_api import router as history_router
from liftsafe.disclosure.api import router as disclosure_router
from liftsafe.emergency.api import router as emergency_router
from liftsafe.exchange.api import router as exchange_router
from liftsafe.hazards.api import router as hazards_router
from liftsafe.maintenance.api import router as maintenance_router
from liftsafe.insurance.api import router as insurance_router
from liftsafe.inspection.api import router as inspection_router
from liftsafe.monitoring.api import router as monitoring_router
from liftsafe.notices.api import router as notices_router
from liftsafe.publicity.api import router as publicity_router
from liftsafe.registry.api import areas_router as core_areas_router
from liftsafe.registry.api import router as registry_router
from liftsafe.rating.api import router as rating_router
from liftsafe.reports.api import router as reports_router
from liftsafe.risk.api import router as risk_router

api = NinjaAPI(
    title="liftsafe API",
    version="1",
    description="Elevator safety supervision and 96333 emergency response. All reads are scoped to the caller.",
    auth=api_auth,
    urls_namespace="api",
    parser=StrictParser(),  # strict JSON, NUL/surrogates/out-of-range refused (liftsafe.core.input)
    renderer=FiniteJSONRenderer(),
)
install_error_handlers(api)  # ONE handler: every error is {"detail", "errors"} (liftsafe.core.errors)
api.add_router("/core/", core_router)
api.add_router("/core/", core_areas_router)  # /api/core/areas: served by the registry (areas follow the elevators a caller sees)
api.add_router("/registry/", registry_router)
api.add_router("/emergency/", emergency_router)
api.add_router("/monitoring/", monitoring_router)
api.add_router("/hazards/", hazards_router)
api.add_router("/inspection/", inspection_router)
api.add_router("/reports/", reports_router)
api.add_router("/exchange/", exchange_router)
api.add_router("/history/", history_router)
api.add_router("/maintenance/", maintenance_router)
api.add_router("/insurance/", insurance_router)
api.add_router("/notices/", notices_router)
api.add_router("/risk/", risk_router)
api.add_router("/rating/", rating_router)
api.add_router("/disclosure/", disclosure_router)
api.add_router("/publicity/", publicity_router)
api.add_router("/command/", command_router)
declare_error_responses(api)  # 401/403/404/422/503 with ErrorOut in the OpenAPI of every operation (after every router)
