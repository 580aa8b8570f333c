"""URL map: pages per app, one typed JSON API (django-ninja) at /api/, admin."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from liftsafe import views
from liftsafe.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("", views.home, name="home"),  # composes the apps (top level; core imports no domain app)
    path("", include("liftsafe.core.urls")),
    path("admin/", admin.site.urls),
    path("registry/", include("liftsafe.registry.urls")),
    path("emergency/", include("liftsafe.emergency.urls")),
    path("monitoring/", include("liftsafe.monitoring.urls")),
    path("hazards/", include("liftsafe.hazards.urls")),
    path("inspection/", include("liftsafe.inspection.urls")),
    path("reports/", include("liftsafe.reports.urls")),
    path("exchange/", include("liftsafe.exchange.urls")),
    path("maintenance/", include("liftsafe.maintenance.urls")),
    path("insurance/", include("liftsafe.insurance.urls")),
    path("notices/", include("liftsafe.notices.urls")),
    path("file/", include("liftsafe.efile.urls")),
    path("risk/", include("liftsafe.risk.urls")),
    path("rating/", include("liftsafe.rating.urls")),
    path("public/ratings/", include("liftsafe.rating.public_urls")),
    path("disclosure/", include("liftsafe.disclosure.urls")),
    path("publicity/", include("liftsafe.publicity.urls")),
    path("public/safety/", include("liftsafe.publicity.public_urls")),
    path("public/reports/", include("liftsafe.reports.public_urls")),
    path("command/", include("liftsafe.command.urls")),
    path("", include("liftsafe.disclosure.public_urls")),  # /q/<code>, /public/ (anonymous)
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
