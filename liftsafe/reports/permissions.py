"""Reports' part of the permission table (:mod:`liftsafe.core.permissions`): the scope of a stored report."""
from liftsafe.core.permissions import register_scope


def _report_in_scope(user, report) -> bool:
    from .selectors import reports_for

    return reports_for(user).filter(pk=report.pk).exists()


register_scope("reports.Report", _report_in_scope)
