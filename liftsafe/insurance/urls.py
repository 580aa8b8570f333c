from django.urls import path

from . import views

app_name = "insurance"
urlpatterns = [
    path("", views.home, name="home"),
    path("policies/", views.policies, name="policies"),
    path("policies/new/", views.policy_new, name="policy_new"),
    path("policies/<int:pk>/", views.policy_detail, name="policy"),
    path("claims/", views.claims, name="claims"),
    path("claims/<int:pk>/", views.claim_detail, name="claim"),
    path("claims/<int:pk>/do/<str:action>/", views.claim_action, name="claim_action"),
    path("gaps/", views.gaps, name="gaps"),
]
