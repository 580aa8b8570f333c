from django.urls import path

from . import views

app_name = "disclosure"
urlpatterns = [
    path("reports/", views.report_list, name="report_list"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/action/<str:action>/", views.report_action, name="report_action"),
    path("reports/<int:pk>/photo/", views.report_photo, name="report_photo"),
    path("labels/", views.labels_page, name="labels"),
    path("labels/download/", views.labels_download, name="labels_download"),
    path("qr/<int:elevator_pk>.svg", views.qr_svg, name="qr_svg"),
    path("publication/", views.publication, name="publication"),
]
