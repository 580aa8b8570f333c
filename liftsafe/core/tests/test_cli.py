"""`liftsafe --help` leads with liftsafe's own commands and what each does, then Django's (issue 16)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from liftsafe.cli import summary

OWN = {"demo", "serve", "worker", "import", "import_template", "replay_mta", "import_ontario", "mqtt_consume",
       "simulate", "compiletranslations"}


def run_cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "liftsafe.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("help",), ()])
def test_help_lists_liftsafes_commands_first_with_what_each_does(args):
    out = run_cli(*args)
    lines = out.splitlines()
    assert lines[0].startswith("liftsafe: elevator-safety supervision")
    start = lines.index("liftsafe's commands:")
    own = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        m = re.fullmatch(r"  (\S+)\s+(\S.*)", line)
        assert m, line
        own[m.group(1)] = m.group(2)
    assert OWN <= set(own), set(OWN) - set(own)
    assert all(len(text) > 20 for text in own.values()), own  # a real description, not a bare name
    assert "migrate" not in own and "runserver" not in own
    # Django's generic commands come after, by name only
    django = out.index("Django's and other framework commands")
    assert out.index("liftsafe's commands:") < django < out.index("migrate")
    assert "createsuperuser" in out[django:]


def test_help_of_one_command_and_the_plain_command_list_still_work():
    assert "usage: liftsafe demo" in run_cli("help", "demo")
    names = run_cli("help", "--commands").split()
    assert {"demo", "migrate"} <= set(names)


def test_summary_is_the_first_sentence_cut_at_a_word():
    assert summary("Do a thing.  More   detail here. Even more.") == "Do a thing."
    long = "Word " * 40
    cut = summary(long)
    assert len(cut) <= 112 and cut.endswith(" …") and "Wor …" not in cut
