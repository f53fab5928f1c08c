"""French help screens for typer: « Usage : », « Commandes », the `--help` option's own text, defaults.

Typer writes a few fixed English words into every help screen. Click's documented extension points are used
to translate them: a `HelpFormatter` subclass (section headings, usage prefix, the `[default: …]` /
`[required]` suffixes) set as the context's `formatter_class`, and command classes whose help option carries a
French text. `FrenchTyper` makes every `app.command(...)` use them, so command modules need nothing special.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer ≥ 0.22 vendors click as typer._click; older typer uses click itself
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, UsageError  # type: ignore[no-redef,import-not-found,unused-ignore]

__all__ = ["ClickException", "FrenchTyper", "UsageError", "translate_usage_error"]

HELP_TEXT = "Affiche cette aide et quitte."
USAGE_PREFIX = "Usage : "
SECTIONS = {"Options": "Options", "Arguments": "Arguments", "Commands": "Commandes"}
USAGE_WORDS = (("COMMAND", "COMMANDE"), ("[ARGS]", "[ARGUMENTS]"))
SUFFIX_WORDS = (("default: ", "défaut : "), ("env var: ", "variable d'environnement : "), ("required", "obligatoire"))
_SUFFIX = re.compile(r"\[([^\[\]]*)\]\s*$")
# Type hints typer writes after an option or argument without a metavar: `--store <path>`.
TYPE_HINTS = {"path": "CHEMIN", "text": "TEXTE", "integer": "ENTIER", "float": "NOMBRE", "boolean": "OUI/NON"}
_TYPE_HINT = re.compile(r"\s*<([^<>]+)>")

_BaseContext: Any = TyperCommand.context_class
_BaseFormatter: Any = _BaseContext.formatter_class


def translate_type_hint(text: str) -> str:
    """`--store <path>` → `--store CHEMIN`; `FICHIER… <list[Path]>` → `FICHIER…` (its metavar says it)."""

    def repl(match: re.Match[str]) -> str:
        hint = match.group(1).lower()
        return f" {TYPE_HINTS[hint]}" if hint in TYPE_HINTS else "" if hint.startswith("list[") else match.group(0)

    return _TYPE_HINT.sub(repl, text)


def translate_suffix(text: str) -> str:
    """`… [default: x; required]` → `… [défaut : x ; obligatoire]` (only the trailing bracket)."""

    def repl(match: re.Match[str]) -> str:
        parts = match.group(1).split("; ")
        out = []
        for part in parts:
            for english, french in SUFFIX_WORDS:
                if part.startswith(english):
                    part = french + part[len(english) :]
                    break
            out.append(part)
        return "[" + " ; ".join(out) + "]"

    return _SUFFIX.sub(repl, text)


class FrenchHelpFormatter(_BaseFormatter):  # type: ignore[misc]
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        for english, french in USAGE_WORDS:
            args = args.replace(english, french)
        super().write_usage(prog, args, USAGE_PREFIX if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        # French typography: a space before the colon.
        self.write(f"{'':>{self.current_indent}}{SECTIONS.get(heading, heading)} :\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(translate_type_hint(first), translate_suffix(second)) for first, second in rows]
        super().write_dl(rows, col_max, col_spacing)


class FrenchContext(_BaseContext):  # type: ignore[misc]
    formatter_class = FrenchHelpFormatter


def _french_help_option(option: Any) -> Any:
    if option is not None:
        option.help = HELP_TEXT
    return option


class FrenchCommand(TyperCommand):
    context_class = FrenchContext

    def get_help_option(self, ctx: Any) -> Any:
        return _french_help_option(super().get_help_option(ctx))


class FrenchGroup(TyperGroup):
    context_class = FrenchContext

    def get_help_option(self, ctx: Any) -> Any:
        return _french_help_option(super().get_help_option(ctx))


class FrenchTyper(typer.Typer):
    """A `typer.Typer` whose group and commands print their help in French."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", FrenchGroup)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or FrenchCommand, **kwargs)


# Click's usage errors, in French (click has no French catalogue). First match wins; unknown text is kept.
_USAGE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"^No such command '(.+)'\.$", r"commande inconnue : « \1 »."),
        (r"^No such option: (\S+)$", r"option inconnue : \1."),
        (r"^No such option: (\S+) \(Possible options: (.+)\)$", r"option inconnue : \1 (options possibles : \2)."),
        (r"^No such option: (\S+) Did you mean (\S+)\?$", r"option inconnue : \1. Vouliez-vous dire \2 ?"),
        (r"^\(Possible options: (.+)\)$", r"(options possibles : \1)"),
        (r"^Missing argument '?([^']+?…)'?\.$", r"argument manquant : \1"),
        (r"^Missing argument '?([^']+?)'?\.$", r"argument manquant : \1."),
        (r"^Missing option '?([^']+?)'?\.$", r"option manquante : \1."),
        (r"^Option '(.+)' requires an argument\.$", r"l'option \1 attend une valeur."),
        (r"^Option '(.+)' requires (\d+) arguments\.$", r"l'option \1 attend \2 valeurs."),
        (r"^Got unexpected extra argument(?:s|\(s\))? \((.+)\)$", r"en trop sur la ligne de commande : \1."),
        (r"^Invalid value for '?([^':]+?)'?: '(.*)' is not a valid integer\.$", r"valeur invalide pour \1 : « \2 » n'est pas un nombre entier."),
        (r"^Invalid value for '?([^':]+?)'?: '(.*)' is not a valid float\.$", r"valeur invalide pour \1 : « \2 » n'est pas un nombre."),
        (r"^Invalid value for '?([^':]+?)'?: '(.*)' is not one of (.+)\.$", r"valeur invalide pour \1 : « \2 » n'est pas parmi \3."),
        (r"^Invalid value for '?([^':]+?)'?: Path '(.*)' does not exist\.$", r"valeur invalide pour \1 : « \2 » n'existe pas."),
        (r"^Invalid value for '?([^':]+?)'?: Input should be greater than or equal to (\S+)$", r"valeur invalide pour \1 : elle doit être supérieure ou égale à \2."),
        (r"^Invalid value for '?([^':]+?)'?: Input should be less than or equal to (\S+)$", r"valeur invalide pour \1 : elle doit être inférieure ou égale à \2."),
        # typer < 0.29 checks bounds with click's own range types
        (r"^Invalid value for '?([^':]+?)'?: (\S+) is not in the range x>=(\S+?)\.$", r"valeur invalide pour \1 : \2 ; elle doit être supérieure ou égale à \3."),
        (r"^Invalid value for '?([^':]+?)'?: (\S+) is not in the range x<=(\S+?)\.$", r"valeur invalide pour \1 : \2 ; elle doit être inférieure ou égale à \3."),
        (r"^Invalid value for '?([^':]+?)'?: (\S+) is not in the range (\S+?)<=x<=(\S+?)\.$", r"valeur invalide pour \1 : \2 ; elle doit être comprise entre \3 et \4."),
        (r"^Invalid value for '?([^':]+?)'?: (.+)$", r"valeur invalide pour \1 : \2"),
    )
)


def translate_usage_error(message: str) -> str:
    """Click's English usage message → French (line by line; unknown lines are kept as they are)."""
    out: list[str] = []
    for line in message.splitlines():
        for pattern, french in _USAGE_ERRORS:
            if pattern.match(line):
                line = pattern.sub(french, line)
                break
        out.append(line)
    return "\n".join(out)
