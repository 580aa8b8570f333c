"""The elevator file (一梯一档): one page per lift rendering every section registered in
:mod:`liftsafe.core.panels`, each section's CSV/XLSX export, and the whole file as a PDF dossier.

Top layer (like :mod:`liftsafe.views`): it renders the sections the apps register and imports no app's
selectors but the registry's ``elevator_get`` (the lift must be in the caller's scope) and the reports' CJK font.
"""
