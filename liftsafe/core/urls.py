from django.contrib.auth import views as auth_views
from django.urls import path

from . import history_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="core/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("account/tokens/", views.account_tokens, name="account_tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.account_token_revoke, name="account_token_revoke"),
    path("history/<str:app_label>/<str:model>/<str:pk>/", history_views.history, name="history"),
]
