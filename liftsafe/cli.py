"""The `liftsafe` command line.

`liftsafe demo`, `liftsafe serve`, `liftsafe import …` and every Django management
command (`liftsafe migrate`, `liftsafe createsuperuser` …) share one entry point:
each is a management command living in the app it belongs to.

`liftsafe`, `liftsafe help`, `liftsafe --help` and `liftsafe -h` list liftsafe's own commands first, each with
what it does (the first sentence of the command's ``help``), then Django's generic ones by name.
"""
from __future__ import annotations

import os
import sys
import textwrap

#: how much of a command's help the overview shows (its first sentence, at most this many characters)
SUMMARY_CHARS = 110


def summary(help_text: str) -> str:
    """The first sentence of a command's ``help`` (whitespace folded; cut at a word, with "…", beyond
    :data:`SUMMARY_CHARS` characters)."""
    text = " ".join(str(help_text or "").split())
    if ". " in text:
        text = text.split(". ", 1)[0] + "."
    if len(text) > SUMMARY_CHARS:
        text = text[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:(") + " …"
    return text


def overview(prog: str = "liftsafe") -> str:
    """The main help: liftsafe's own commands with what each does, then the other (Django's) commands by app."""
    from django.core.management import get_commands, load_command_class

    commands = get_commands()  # name → app module ("liftsafe.registry", "django.core", …)
    ours = sorted(name for name, app in commands.items() if app.startswith("liftsafe"))
    width = max((len(n) for n in ours), default=10) + 2
    lines = [
        "liftsafe: elevator-safety supervision and the 96333 emergency-response platform.",
        "",
        f"Usage: {prog} <command> [options]        {prog} help <command>: that command's options",
        "",
        "liftsafe's commands:",
    ]
    for name in ours:
        try:
            text = summary(load_command_class(commands[name], name).help)
        except Exception as exc:  # a broken command must not hide the others
            text = f"(cannot be loaded: {type(exc).__name__})"
        lines.append(f"  {name.ljust(width)}{text}")
    lines += ["", f"New here? `{prog} demo` sets up the demo data and runs the platform (README.md, Quick start).", ""]
    others: dict[str, list[str]] = {}
    for name, app in commands.items():
        if not app.startswith("liftsafe"):
            others.setdefault("django" if app == "django.core" else app.rpartition(".")[-1], []).append(name)
    lines.append("Django's and other framework commands (generic; `help <command>` explains each):")
    for app in sorted(others):
        lines += textwrap.wrap(", ".join(sorted(others[app])), width=100, initial_indent=f"  [{app}] ",
                               subsequent_indent=" " * (len(app) + 5))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run a liftsafe / Django management command; returns the exit status."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftsafe.settings")
    from django.core.management import ManagementUtility

    class Utility(ManagementUtility):
        def __init__(self, argv):
            super().__init__(argv)
            if self.prog_name in ("cli.py", "__main__.py"):  # python -m liftsafe.cli
                self.prog_name = "liftsafe"

        def main_help_text(self, commands_only: bool = False) -> str:
            if commands_only:
                return super().main_help_text(commands_only=True)
            return overview(self.prog_name)

    argv = list(sys.argv if argv is None else argv)
    if len(argv) == 1:
        argv.append("help")
    Utility(argv).execute()
    return 0


if __name__ == "__main__":
    sys.exit(main())
