from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("elevators/", views.elevator_list, name="elevator_list"),
    path("elevators/<int:pk>/", views.elevator_detail, name="elevator_detail"),
]

# Export downloads (same filters and scoping as the list; views in exports.py).
from . import exports  # noqa: E402

urlpatterns += [
    path("elevators/export.csv", exports.elevator_export_csv_view, name="elevator_export_csv"),
    path("elevators/export.xlsx", exports.elevator_export_xlsx_view, name="elevator_export_xlsx"),
]
