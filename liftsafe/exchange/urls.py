from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("", views.destination_list, name="destinations"),
    path("destinations/new/", views.destination_new, name="destination_new"),
    path("destinations/<int:pk>/", views.destination_detail, name="destination_detail"),
    path("destinations/<int:pk>/edit/", views.destination_edit, name="destination_edit"),
    path("outbox/", views.outbox, name="outbox"),
    path("log/", views.send_log, name="log"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/resend/", views.batch_resend, name="batch_resend"),
    path("resend-failed/", views.resend_failed, name="resend_failed"),
    path("imports/", views.schedule_list, name="schedules"),
    path("imports/new/", views.schedule_new, name="schedule_new"),
    path("imports/<int:pk>/", views.schedule_detail, name="schedule_detail"),
    path("imports/<int:pk>/run/", views.schedule_run, name="schedule_run"),
    path("loopback/<str:kind>/", views.loopback, name="loopback"),
]
