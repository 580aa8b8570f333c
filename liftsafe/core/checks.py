"""Deployment system checks of the platform (``manage.py check --deploy``)."""
from __future__ import annotations
