"""The demo: the real NYC registry and second sources, generated organisations, one account per role.

A top-level app above the domain apps (it imports registry, emergency, hazards, exchange); ``core``
imports nothing from here. ``liftsafe demo`` (``management/commands/demo.py``) runs it.
"""
