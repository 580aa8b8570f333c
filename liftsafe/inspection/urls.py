from django.urls import path

from . import views

app_name = "inspection"
urlpatterns = [
    path("", views.due, name="due"),
    path("new/", views.record_new, name="record_new"),
    path("findings/<int:pk>/<str:action>/", views.finding_action, name="finding_action"),
    path("elevators/<int:elevator_pk>/", views.elevator_panel, name="elevator_panel"),
]
