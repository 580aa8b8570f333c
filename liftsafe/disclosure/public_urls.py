"""Public (anonymous) URLs: the short QR path and the portal. Namespace ``public``."""
from django.urls import path

from . import views

app_name = "public"
urlpatterns = [
    path("q/<str:code>", views.qr, name="qr"),
    path("Q/<str:code>", views.qr, name="qr_label"),  # the upper-case URL printed on labels (compact QR mode)
    path("q/<str:code>/report/", views.report_new, name="report"),
    path("public/", views.portal, name="portal"),
    path("public/ticket/<str:ticket>/", views.ticket, name="ticket"),
    path("public/ticket/<str:ticket>/reopen/", views.ticket_reopen, name="ticket_reopen"),
    path("public/ticket/<str:ticket>/survey/", views.ticket_survey, name="ticket_survey"),
]
