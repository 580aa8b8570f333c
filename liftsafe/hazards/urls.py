from django.urls import path

from . import views

app_name = "hazards"
urlpatterns = [
    path("", views.hazard_list, name="list"),
    path("mine/", views.my_hazards, name="mine"),
    path("new/", views.hazard_new, name="new"),
    path("report/", views.self_report, name="report"),
    path("units/", views.unit_search, name="unit_search"),
    path("<int:pk>/", views.hazard_detail, name="detail"),
    path("<int:pk>/do/<str:action>/", views.hazard_action, name="action"),
    path("<int:pk>/evidence/", views.evidence_upload, name="evidence_upload"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence"),
    path("elevators/", views.problem_elevators, name="elevators"),
    path("elevators/<int:elevator_id>/", views.elevator_file, name="elevator_file"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/recheck/", views.recheck_record, name="recheck"),
    path("stats/", views.statistics, name="stats"),
]
