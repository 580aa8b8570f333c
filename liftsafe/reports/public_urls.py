from django.urls import path

from . import public_views

app_name = "reports_public"
urlpatterns = [
    path("", public_views.public_report_list, name="list"),
    path("<int:pk>/", public_views.public_report_detail, name="detail"),
    path("<int:pk>/report.pdf", public_views.public_report_pdf, name="pdf"),
]
