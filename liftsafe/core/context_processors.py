"""Template context shared by every page: the caller's scope and the platform name."""
from .scoping import scope_of


def platform(request):
    return {"scope": scope_of(getattr(request, "user", None)), "platform_name": "liftsafe"}
