"""Kinds of the notes the disclosure app writes (audit reasons); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

CODE_ISSUED = register("disclosure.code_issued", _l("public code issued"))
CODE_REISSUED = register("disclosure.code_reissued", _l("public code replaced (old code withdrawn)"))
PUBLICATION_CHANGED = register("disclosure.publication_changed", _l("publication settings changed"))
REPORT_FILED = register("disclosure.report_filed", _l("public report received"))
REPORT_TRANSITION = register("disclosure.report_transition", _l("public report: %(action)s"))
REPORT_REOPENED = register("disclosure.report_reopened", _l("reopened by the reporter"))
REPORT_SURVEY = register("disclosure.report_survey", _l("questionnaire answered"))
REPORT_MERGED = register("disclosure.report_merged", _l("merged into report %(ticket)s"))
REPORT_FORWARDED = register("disclosure.report_forwarded", _l("forwarded as %(target)s #%(id)s"))
NOTIFY_REOPENED = register("disclosure.notify_reopened", _l("Public report %(ticket)s was reopened by the reporter."))
NOTIFY_NEW = register("disclosure.notify_new", _l("New public report %(ticket)s about lift %(lift)s."))
