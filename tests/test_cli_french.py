"""The command line in French from end to end (issue 20, point 1 and the help of points 4 and 5).

Before this module's changes, on main: `cvg rapport` was « Erreur : No such command 'rapport'. Did you mean
'report'? », the help cut every summary at ~45 characters (« … »), `--debug` after the command was an
unknown option, there was no completion, and several of click's messages stayed English.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from cvg_pipeline.commands.french import ALIASES, translate_usage_error

CVG = str(Path(sys.executable).parent / "cvg")
TYPER = Path(typer.__file__).parent

# Where click (vendored by typer as typer._click) and typer write the messages a user can see.
SOURCES = ["_click/exceptions.py", "_click/types.py", "_click/parser.py", "_click/core.py", "core.py", "_types.py", "models.py"]
MESSAGE_CALLS = {
    "fail", "UsageError", "BadParameter", "BadOptionUsage", "BadArgumentUsage", "NoSuchOption", "FileError",
    "MissingParameter",
}
MESSAGE_NAMES = {"message", "missing", "suggest", "msg"}
# Messages click raises for a programming error in the command's declaration, never for a user's input.
NOT_FOR_USERS = {
    "Argument 'zz' takes zz values.",  # nargs declared wrong
    "DeprecationWarning: The command 'zz' is deprecated.zz",  # cvg declares no deprecated command
}
# Templates whose placeholder is itself an English fragment chosen next to it: the messages they make.
EXPAND = {
    "Option 'zz' requires zz": ["Option 'zz' requires an argument.", "Option 'zz' requires 2 arguments."],
    "an argument.": [],
    "zz arguments.": [],
}
# `missing` fragments are composed by MissingParameter.format_message as f"{missing}{param_hint}.{msg}".
FRAGMENTS = re.compile(r"^Missing \S+$")
ENGLISH = re.compile(
    r"\b(Invalid|Missing|requires|does not|is not|Possible|No such|Got unexpected|Could not|required|given|"
    r"Recognized|Did you mean|Takes|takes|Aborted|must be|match|exist|directory|readable|writable)\b"
)


def _render(node: ast.AST) -> str | None:
    """An example of the message a template gives: each placeholder becomes « zz » (« 'zz' » for !r);
    `self.name.title()` is a path kind (« Path »)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                src = ast.unparse(v.value)
                if src.endswith(".title()") or src == "name":
                    parts.append("Path")
                elif src == "loc":
                    parts.append("'zz'")
                else:
                    parts.append("'zz'" if v.conversion == ord("r") else "zz")
        return "".join(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        inner = _render(node.func.value)
        return None if inner is None else re.sub(r"\{(\w+)(!r)?\}", lambda m: "'zz'" if m.group(2) else "zz", inner)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_" and node.args:
        return _render(node.args[0])
    return None


def click_messages() -> list[str]:
    """Every message template of click and typer that can reach a user, rendered as an example."""
    found: set[str] = set()
    for rel in SOURCES:
        tree = ast.parse((TYPER / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            texts: list[ast.AST] = []
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name in MESSAGE_CALLS:
                    texts += list(node.args) + [k.value for k in node.keywords if k.arg == "message"]
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    tname = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
                    if tname in MESSAGE_NAMES:
                        texts.append(node.value)
            for t in texts:
                text = _render(t)
                if text and re.search(r"[A-Za-z]{3}", text.replace("zz", "").replace("Path", "")):
                    found.add(text)
    out: set[str] = set()
    for text in found - NOT_FOR_USERS:
        if FRAGMENTS.match(text):
            out.update({f"{text} 'zz'.", f"{text}."})
        else:
            out.update(EXPAND.get(text, [text]))
    return sorted(out)


def test_the_walk_finds_click_s_messages() -> None:
    """The walk is not empty by accident: the messages cvg users met in English are among those found."""
    messages = click_messages()
    for known in ("No such option: zz", "Missing argument 'zz'.", "Option 'zz' requires an argument.",
                  "'zz' is not a valid zz.", "Path 'zz' does not exist."):
        assert known in messages, known
    assert len(messages) >= 25


@pytest.mark.parametrize("message", click_messages())
def test_every_click_message_comes_out_in_french(message: str) -> None:
    """Each message alone, and inside « Invalid value for '--x': … » where click nests it."""
    for text in (message, f"Invalid value for '--x': {message}"):
        french = translate_usage_error(text)
        assert not ENGLISH.search(french), (text, french)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CVG, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("alias", "command"), [(a, c) for c, aliases in ALIASES.items() for a in aliases])
def test_every_french_name_runs_its_command(alias: str, command: str) -> None:
    french = run(alias, "--help")
    english = run(command, "--help")
    assert french.returncode == 0, french.stderr
    def same(text: str) -> str:
        return text.replace(f"cvg {alias}", "cvg X").replace(f"cvg {command}", "cvg X")

    assert same(french.stdout) == same(english.stdout)


def test_the_help_shows_the_french_names_whole_summaries_and_where_to_start() -> None:
    out = run("--help").stdout
    for command, aliases in ALIASES.items():
        assert f"{command} ({', '.join(aliases)})" in out
    commands = out.split("Commandes :")[1].split("Pour commencer")[0]
    assert "..." not in commands and "…" not in commands  # no summary cut
    assert "Pour commencer" in out and "cvg init" in out and "cvg suivi" in out
    assert "130" in out  # exit codes documented


@pytest.mark.parametrize(
    ("typo", "suggested"), [("rapprot", "« rapport »"), ("integre", "« intégrer »"), ("indicator", "« indicators »")]
)
def test_an_unknown_command_is_french_with_the_nearest_names(typo: str, suggested: str) -> None:
    proc = run(typo)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"Erreur : commande inconnue : « {typo} ».")
    assert "Vouliez-vous dire" in proc.stderr and suggested in proc.stderr
    assert "Did you mean" not in proc.stderr and "No such" not in proc.stderr


def test_debug_is_accepted_after_the_command(tmp_path: Path) -> None:
    proc = run("historique", "--store", str(tmp_path / "absent.duckdb"), "--debug")
    assert proc.returncode != 2, proc.stderr  # not « option inconnue »
    assert "option inconnue" not in proc.stderr


def test_completion_script_and_french_names_complete() -> None:
    script = run("--show-completion", "bash")
    assert script.returncode == 0 and "_cvg_completion" in script.stdout
    proc = run(env={"_CVG_COMPLETE": "complete_bash", "COMP_WORDS": "cvg rap", "COMP_CWORD": "1"})
    assert proc.stdout.split() == ["rapport"]
    proc = run(env={"_CVG_COMPLETE": "complete_bash", "COMP_WORDS": "cvg re", "COMP_CWORD": "1"})
    assert proc.stdout.split() == ["report"]
    help_text = run("--help").stdout
    assert "Installe la complétion" in help_text and "Install completion" not in help_text
