"""Registers the scope of publicity articles: administrators all; regulators the articles of their area
and the areas below it (one rule for pages, API and services: :func:`.selectors.articles_for`)."""
from liftsafe.core.permissions import register_scope

from . import selectors

register_scope("publicity.Article", lambda user, obj: selectors.articles_for(user).filter(pk=obj.pk).exists())
