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
        rows = [(translate_type_hint(first), translate_suffix(_option_help(second))) for first, second in rows]
        super().write_dl(rows, col_max, col_spacing)


def _option_help(text: str) -> str:
    for english, french in OPTION_HELP.items():
        if text.startswith(english):
            return french + text[len(english) :]
    return text


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


# French names of the commands whose own name is English: accepted on the command line and shown in the help.
ALIASES: dict[str, tuple[str, ...]] = {
    "ingest": ("intégrer", "integrer"),
    "verifier": ("vérifier",),
    "indicators": ("indicateurs",),
    "report": ("rapport",),
    "template": ("modèle", "modele"),
}
# Help texts that typer writes in English (the completion options).
OPTION_HELP = {
    "Install completion for the current shell.": "Installe la complétion des commandes pour le shell courant.",
    "Show completion for the current shell, to copy it or customize the installation.": (
        "Affiche le script de complétion du shell courant (pour le copier ou l'installer soi-même)."
    ),
}


def _fold(name: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class FrenchGroup(TyperGroup):
    context_class = FrenchContext

    def get_help_option(self, ctx: Any) -> Any:
        return _french_help_option(super().get_help_option(ctx))

    def _names(self) -> dict[str, str]:
        """Every accepted spelling (folded: case and accents) → the command's own name."""
        names = {_fold(name): name for name in self.commands}
        for name, aliases in ALIASES.items():
            if name in self.commands:
                names.update({_fold(alias): name for alias in aliases})
        return names

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = self.commands.get(cmd_name)
        if cmd is None:
            cmd = self.commands.get(self._names().get(_fold(cmd_name), ""))
        return cmd

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """An unknown command: a French message, with the nearest names (French ones included)."""
        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as exc:
            if args and exc.message.startswith("No such command"):
                from difflib import get_close_matches

                names = self._names()
                shown = list(self.commands) + [a for n, al in ALIASES.items() if n in self.commands for a in al]
                close = get_close_matches(_fold(args[0]), list(names), n=3, cutoff=0.6)
                spelled = list(dict.fromkeys(next(s for s in shown if _fold(s) == c) for c in close))
                exc.message = f"commande inconnue : « {args[0]} »." + (
                    " Vouliez-vous dire " + " ou ".join(f"« {m} »" for m in spelled) + " ?" if spelled else ""
                )
            raise

    def shell_complete(self, ctx: Any, incomplete: str) -> Any:
        """Completion offers the French names too (`cvg rap<TAB>` → rapport)."""
        results = super().shell_complete(ctx, incomplete)
        from typer._click.shell_completion import CompletionItem

        for name, aliases in ALIASES.items():
            if name in self.commands:
                results.extend(CompletionItem(a) for a in aliases if a.startswith(incomplete))
        return results

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands with their French names and their whole summary (wrapped, never cut)."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name)
            if cmd is None or cmd.hidden:
                continue
            label = name + (f" ({', '.join(ALIASES[name])})" if name in ALIASES else "")
            rows.append((label, summary(cmd)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows, col_max=34)


def summary(cmd: Any) -> str:
    """A command's first paragraph, whole (click cuts it at ~45 characters with « ... »)."""
    if cmd.short_help:
        return str(cmd.short_help)
    text = (cmd.help or "").strip()
    first = text.split("\n\n", 1)[0]
    return " ".join(first.split())


class FrenchTyper(typer.Typer):
    """A `typer.Typer` whose group and commands print their help in French."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", FrenchGroup)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or FrenchCommand, **kwargs)


# Click's usage errors, in French (click has no French catalogue). First match wins; unknown text is kept.
# tests/test_cli_french.py walks click's and typer's sources for every message they can raise and checks that
# each one comes out here in French.
_STRERROR = {
    "No such file or directory": "fichier ou dossier introuvable",
    "Permission denied": "permission refusée",
    "Is a directory": "c'est un dossier",
    "Not a directory": "ce n'est pas un dossier",
    "File exists": "le fichier existe déjà",
}
_PATH_KINDS = {"path": "le chemin", "file": "le fichier", "directory": "le dossier"}


def _quoted(text: str) -> str:
    """`'x'` (Python's repr in click's messages) → « x »."""
    return f"« {text[1:-1]} »" if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _compiled(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), french) for pattern, french in pairs)


_INNER = _compiled((
        (r"^'(.*)' is not a valid integer\.$", r"« \1 » n'est pas un nombre entier."),
        (r"^'(.*)' is not a valid float\.$", r"« \1 » n'est pas un nombre."),
        (r"^'(.*)' is not a valid boolean\. Recognized values: (.+)$", r"« \1 » n'est pas un oui/non. Valeurs reconnues : \2"),
        (r"^(.+) is not a valid boolean\. Recognized values: (.+)$", r"\1 n'est pas un oui/non. Valeurs reconnues : \2"),
        (r"^'(.*)' is not a valid UUID\.$", r"« \1 » n'est pas un identifiant UUID valide."),
        (r"^(.+) is not a valid UUID\.$", r"\1 n'est pas un identifiant UUID valide."),
        (r"^'(.*)' is not a valid (.+)\.$", r"« \1 » n'est pas une valeur valide (\2)."),
        (r"^(.+) is not a valid (.+)\.$", r"\1 n'est pas une valeur valide (\2)."),
        (r"^'(.*)' is not one of (.+)\.$", r"« \1 » n'est pas parmi \2."),
        (r"^(.+) is not one of (.+)\.$", r"\1 n'est pas parmi \2."),
        (r"^(\S+) is not in the range x>=(\S+?)\.$", r"\1 ; elle doit être supérieure ou égale à \2."),
        (r"^(\S+) is not in the range x>(\S+?)\.$", r"\1 ; elle doit être supérieure à \2."),
        (r"^(\S+) is not in the range x<=(\S+?)\.$", r"\1 ; elle doit être inférieure ou égale à \2."),
        (r"^(\S+) is not in the range x<(\S+?)\.$", r"\1 ; elle doit être inférieure à \2."),
        (r"^(\S+) is not in the range (\S+?)<=x<=(\S+?)\.$", r"\1 ; elle doit être comprise entre \2 et \3."),
        (r"^(.+) is not in the range (.+)\.$", r"\1 n'est pas dans l'intervalle \2."),
        (r"^Input should be greater than or equal to (\S+)$", r"elle doit être supérieure ou égale à \1."),
        (r"^Input should be less than or equal to (\S+)$", r"elle doit être inférieure ou égale à \1."),
        (r"^'(.*)' does not match the formats (.+)\.$", r"« \1 » ne correspond à aucun des formats \2."),
        (r"^(.+) does not match the formats (.+)\.$", r"\1 ne correspond à aucun des formats \2."),
        (r"^(.+) values are required, but (.+) given\.$", r"\1 valeurs sont attendues, \2 données."),
        (r"^Takes (.+) values but (.+) given\.$", r"attend \1 valeurs, \2 données."),
        (r"^(Path|File|Directory) '(.*)' does not exist\.$", "PATH:\\1:« \\2 » n'existe pas."),
        (r"^(Path|File|Directory) (.+) does not exist\.$", "PATH:\\1:\\2 n'existe pas."),
        (r"^(Path|File|Directory|path|file|directory) '(.*)' is a file\.$", "PATH:\\1:« \\2 » est un fichier, pas un dossier."),
        (r"^(Path|File|Directory|path|file|directory) '(.*)' is a directory\.$", "PATH:\\1:« \\2 » est un dossier, pas un fichier."),
        (r"^(Path|File|Directory|path|file|directory) '(.*)' is not (readable|writable|executable)\.$", "PERM:\\1:\\2:\\3"),
        (r"^(Path|File|Directory|path|file|directory) (.+) is (?:a file|a directory|not readable|not writable|not executable)\.$", "PATH:\\1:\\2 ne convient pas."),
        (r"^'(.*)': (.+)$", "FILE:\\1:\\2"),
        (r"^Value must be an iterable\.$", "la valeur doit être une liste."),
    )
)

_USAGE_ERRORS = _compiled((
        (r"^No such command '(.+)'\. Did you mean (.+)\?$", "CMD:\\1:\\2"),
        (r"^No such command '(.+)'\.$", r"commande inconnue : « \1 »."),
        (r"^(.+)\. Did you mean (.+)\?$", "DYM:\\2:\\1"),
        (r"^Missing command\.$", "commande manquante."),
        (r"^No such option: (\S+)$", r"option inconnue : \1."),
        (r"^No such option: (\S+) \(Possible options: (.+)\)$", r"option inconnue : \1 (options possibles : \2)."),
        (r"^No such option: (\S+) Did you mean (\S+)\?$", r"option inconnue : \1. Vouliez-vous dire \2 ?"),
        (r"^\(Possible options: (.+)\)$", r"(options possibles : \1)"),
        (r"^Missing argument '?([^']+?…)'?\.(.*)$", r"argument manquant : \1\2"),
        (r"^Missing argument '?([^']+?)'?\.(.*)$", r"argument manquant : \1.\2"),
        (r"^Missing argument\.(.*)$", r"argument manquant.\1"),
        (r"^Missing option '?([^']+?)'?\.(.*)$", r"option manquante : \1.\2"),
        (r"^Missing option\.(.*)$", r"option manquante.\1"),
        (r"^Missing parameter: (.+)$", r"paramètre manquant : \1."),
        (r"^Missing parameter '?([^']+?)'?\.(.*)$", r"paramètre manquant : \1.\2"),
        (r"^Missing parameter\.(.*)$", r"paramètre manquant.\1"),
        (r"^Missing (\S+) '?([^']+?)'?\.(.*)$", r"paramètre manquant (\1) : \2.\3"),
        (r"^Missing (\S+)\.(.*)$", r"paramètre manquant (\1).\2"),
        (r"^Option '(.+)' requires an argument\.$", r"l'option \1 attend une valeur."),
        (r"^Option '(.+)' requires (\d+) arguments\.$", r"l'option \1 attend \2 valeurs."),
        (r"^Option '(.+)' does not take a value\.$", r"l'option \1 ne prend pas de valeur."),
        (r"^Argument '(.+)' takes (\d+) values\.$", r"l'argument \1 attend \2 valeurs."),
        (r"^Got unexpected extra argument(?:s|\(s\))? \((.+)\)$", r"en trop sur la ligne de commande : \1."),
        (r"^Could not open file '(.*)': (.+)$", "FILE:\\1:\\2"),
        (r"^Invalid value for '?([^':]+?)'?: (.+)$", "VALUE:\\1:\\2"),
        (r"^Invalid value: (.+)$", "VALUE::\\1"),
        (r"^Aborted[!.]$", "interrompu."),
    )
)


def _special(text: str) -> str:
    """The translations that need more than a substitution (nested messages, quoted lists)."""
    kind, _, rest = text.partition(":")
    if kind == "VALUE":
        name, _, inner = rest.partition(":")
        inner = _translate_inner(inner)
        return f"valeur invalide pour {name} : {inner}" if name else f"valeur invalide : {inner}"
    if kind == "CMD":
        name, _, suggestions = rest.partition(":")
        names = " ou ".join(_quoted(s.strip()) for s in suggestions.split(","))
        return f"commande inconnue : « {name} ». Vouliez-vous dire {names} ?"
    if kind == "DYM":
        suggestions, _, first = rest.partition(":")
        names = " ou ".join(_quoted(s.strip()) for s in suggestions.split(","))
        return f"{translate_usage_error(first + '.')} Vouliez-vous dire {names} ?"
    if kind == "FILE":
        name, _, reason = rest.partition(":")
        return f"impossible d'ouvrir « {name} » : {_STRERROR.get(reason.strip(), reason.strip())}."
    if kind == "PATH":
        what, _, sentence = rest.partition(":")
        return f"{_PATH_KINDS.get(what.lower(), 'le chemin')} {sentence}"
    if kind == "PERM":
        what, _, rest2 = rest.partition(":")
        name, _, right = rest2.rpartition(":")
        verb = {"readable": "lu", "writable": "écrit", "executable": "exécuté"}[right]
        return f"{_PATH_KINDS.get(what.lower(), 'le chemin')} « {name} » ne peut pas être {verb}."
    return text


def _translate_inner_only(text: str) -> str:
    for pattern, french in _INNER:
        if pattern.match(text):
            out = pattern.sub(french, text)
            return _special(out) if out.split(":", 1)[0] in ("PATH", "PERM", "FILE") else out
    return text


def _translate_inner(text: str) -> str:
    out = _translate_inner_only(text)
    return translate_usage_error(text) if out == text else out


def translate_usage_error(message: str) -> str:
    """Click's English usage message → French (line by line; unknown lines are kept as they are)."""
    out: list[str] = []
    for line in message.splitlines():
        for pattern, french in _USAGE_ERRORS:
            if pattern.match(line):
                line = pattern.sub(french, line)
                if line.split(":", 1)[0] in ("VALUE", "CMD", "FILE", "DYM"):
                    line = _special(line)
                break
        else:  # a parameter's own message, not nested in « Invalid value for … »
            line = _translate_inner_only(line)
        out.append(line)
    return "\n".join(out)
