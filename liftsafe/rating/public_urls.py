"""The public projection of published ratings, mounted at ``/public/ratings/`` (no login)."""
from django.urls import path

from . import views

app_name = "rating_public"
urlpatterns = [path("", views.public_list, name="list")]
