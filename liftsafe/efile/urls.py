from django.urls import path

from . import views

app_name = "efile"
urlpatterns = [
    path("<int:pk>/", views.elevator_file, name="file"),
    path("<int:pk>/dossier.pdf", views.dossier_pdf, name="dossier"),
    path("<int:pk>/<slug:key>.csv", views.section_csv, name="section_csv"),
    path("<int:pk>/<slug:key>.xlsx", views.section_xlsx, name="section_xlsx"),
]
