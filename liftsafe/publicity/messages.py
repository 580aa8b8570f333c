"""Kinds of the notes the publicity app writes (audit reasons of articles); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

CREATED = register("publicity.created", _l("article created"))
EDITED = register("publicity.edited", _l("article edited"))
IMAGE = register("publicity.image", _l("image replaced"))
TRANSITION = register("publicity.transition", _l("state changed: %(action)s"))
AUTO_PUBLISHED = register("publicity.auto_published", _l("published at its scheduled time"))
AUTO_UNPUBLISHED = register("publicity.auto_unpublished", _l("unpublished at its scheduled time"))
