"""Rating's part of the permission table (:mod:`liftsafe.core.permissions`): the scope of its records and the
object conditions (the rated unit objects and replies; the reviewer is not the scorer). Imported by ``CoreConfig.ready``."""
from liftsafe.core.permissions import register_condition, register_scope
from liftsafe.core.scoping import scope_of


def _rating_in_scope(user, rating) -> bool:
    from .selectors import ratings_for

    return ratings_for(user).filter(pk=rating.pk).exists()


def _credit_in_scope(user, entry) -> bool:
    from .selectors import credit_entries_for

    return credit_entries_for(user).filter(pk=entry.pk).exists()


def is_rated_unit(user, obj) -> bool:
    """The caller belongs to the rated / listed maintenance unit."""
    scope = scope_of(user)
    return scope.organisation_id is not None and scope.organisation_id == obj.unit_id


def not_the_scorer(user, rating) -> bool:
    """docs/domain §15.4: the objection is decided by an officer not involved in the rating (neither the scorer
    nor the one who published it)."""
    return user.pk not in {rating.scored_by_id, rating.published_by_id}


register_scope("rating.Rating", _rating_in_scope)
register_scope("rating.CreditEntry", _credit_in_scope)
register_condition("rating.object", is_rated_unit)
register_condition("rating.reply", is_rated_unit)
register_condition("credit.apply_lift", is_rated_unit)
register_condition("rating.review", not_the_scorer)
