"""Emergency pages (mounted at /emergency/)."""
from django.urls import path

from . import views

app_name = "emergency"
urlpatterns = [
    path("", views.console, name="console"),
    path("intake/<int:elevator_pk>/", views.intake, name="intake"),
    path("board/", views.board, name="board"),
    path("board/delta/", views.board_delta, name="board_delta"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/dispatch/", views.case_dispatch, name="case_dispatch"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("cases/<int:pk>/callbacks/", views.case_callback, name="case_callback"),
    path("cases/<int:pk>/on-site/<int:record_pk>/photo/", views.on_site_photo, name="on_site_photo"),
    path("callers/", views.caller_lookup, name="caller_lookup"),
    path("responder/", views.responder, name="responder"),
    path("responder/<int:pk>/milestone/", views.responder_milestone, name="responder_milestone"),
    path("responder/<int:pk>/cause/", views.responder_cause, name="responder_cause"),
    path("regulator/", views.regulator, name="regulator"),
    path("cases/", views.case_search, name="case_search"),
    path("elevators/<int:elevator_pk>/cases/", views.elevator_cases, name="elevator_cases"),
]
