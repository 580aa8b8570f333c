from django.urls import path

from . import views

app_name = "risk"
urlpatterns = [
    path("", views.score_list, name="list"),
    path("elevators/<int:elevator_id>/", views.score_detail, name="detail"),
    path("elevators/<int:elevator_id>/recompute/", views.score_recompute, name="recompute"),
    path("key-periods/", views.key_period_list, name="key_periods"),
    path("key-periods/<int:pk>/", views.key_period_edit, name="key_period"),
    path("red-list/", views.red_list, name="red_list"),
    path("red-list/tasks/", views.red_tasks_create, name="red_tasks_create"),
]
