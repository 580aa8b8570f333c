from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("list/", views.report_list, name="report_list"),
    path("generate/", views.report_generate, name="report_generate"),
    path("<int:pk>/", views.report_detail, name="report_detail"),
    path("<int:pk>/publish/", views.report_publish, name="report_publish"),
    path("<int:pk>/download/<str:format>/", views.report_download, name="report_download"),
]
