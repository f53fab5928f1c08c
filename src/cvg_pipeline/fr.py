"""French number, percentage and date formatting for the reports (pure standard library).

- integers: thousands separated by a narrow no-break space (U+202F): ``3 448``, ``12 345 678``;
- decimals: a comma: ``16,3``;
- percentages: no decimals, a no-break space (U+00A0) before ``%``: ``49 %``;
- dates: ``31 décembre 2023``, ``1er janvier 2023``;
- enumerations: ``a, b et c``; counts: ``1 ligne``, ``2 lignes``.

Rounding is half-up on the exact value (``Fraction``), never Python's round-half-even on a float, so that
``0,5 %`` → ``1 %`` and 467 / 961 → ``49 %`` whatever the float representation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

NBSP = "\u00a0"  # before % and other units
NNBSP = "\u202f"  # thousands separator

MOIS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)


def entier(n: int) -> str:
    """``3448`` → ``3 448`` (U+202F between groups of three digits); negative numbers keep their sign."""
    sign = "-" if n < 0 else ""
    digits = str(abs(n))
    groups = []
    while digits:
        groups.append(digits[-3:])
        digits = digits[:-3]
    return sign + NNBSP.join(reversed(groups))


def arrondi(value: Fraction | Decimal | float | int, decimales: int = 0) -> Decimal:
    """Round half-up (away from zero) to `decimales` places, on the exact value."""
    exact = Decimal(str(value)) if isinstance(value, float) else value
    if isinstance(exact, Fraction):
        quantum = Fraction(1, 10**decimales)
        scaled = abs(exact) / quantum
        whole = int(scaled)
        if scaled - whole >= Fraction(1, 2):
            whole += 1
        result = Decimal(whole).scaleb(-decimales)
        return -result if exact < 0 else result
    return Decimal(exact).quantize(Decimal(1).scaleb(-decimales), rounding=ROUND_HALF_UP)


def decimal(value: Fraction | Decimal | float | int, decimales: int = 1) -> str:
    """``16.25`` → ``16,3`` (half-up); the integer part gets thousands separators."""
    rounded = arrondi(value, decimales)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):.{decimales}f}"
    whole, _, frac = text.partition(".")
    return sign + entier(int(whole)) + ("," + frac if frac else "")


def pourcentage_valeur(n: int, base: int) -> int:
    """n / base as a whole percentage, rounded half-up (base > 0)."""
    if base <= 0:
        raise ValueError("base must be positive")
    return int(arrondi(Fraction(100 * n, base), 0))


def pourcentage(n: int, base: int) -> str:
    """``pourcentage(467, 961)`` → ``49 %`` (U+00A0 before %)."""
    return f"{entier(pourcentage_valeur(n, base))}{NBSP}%"


def date_longue(d: date) -> str:
    """``31 décembre 2023``; the first day of a month is ``1er janvier 2023``."""
    jour = "1er" if d.day == 1 else str(d.day)
    return f"{jour} {MOIS[d.month - 1]} {d.year}"


def date_iso_longue(text: str) -> str:
    """The same from an ISO date string (``2023-12-31``)."""
    return date_longue(date.fromisoformat(text))


def liste(items: Sequence[str]) -> str:
    """A French enumeration: ``a``, ``a et b``, ``a, b et c`` (no comma before « et »)."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def pluriel(n: int, singulier: str, pluriel_: str | None = None) -> str:
    """French count: 0 and 1 take the singular (`0 erreur`, `1 ligne`, `2 lignes`, `2 fichiers refusés`)."""
    return f"{n} {singulier}" if n <= 1 else f"{n} {pluriel_ or singulier + 's'}"


_OS_ERRORS = {
    "ENOENT": "fichier ou dossier introuvable",
    "EACCES": "droits insuffisants",
    "EPERM": "opération non permise",
    "ENOTDIR": "un élément du chemin n'est pas un dossier",
    "EISDIR": "c'est un dossier, pas un fichier",
    "ENOSPC": "plus de place sur le disque",
    "EROFS": "disque en lecture seule",
    "EEXIST": "le fichier existe déjà",
    "ENAMETOOLONG": "nom de fichier trop long",
    "ELOOP": "trop de liens symboliques",
    "EMFILE": "trop de fichiers ouverts",
    "EIO": "erreur d'entrée-sortie du disque",
}


def erreur_systeme(exc: BaseException) -> str:
    """An OS error in French (the system's own text is English): `droits insuffisants`, …"""
    import errno

    code = getattr(exc, "errno", None)
    name = errno.errorcode.get(code, "") if isinstance(code, int) else ""
    return _OS_ERRORS.get(name, f"erreur système {name or type(exc).__name__}")


def aujourdhui() -> date:
    """Today in France (Europe/Paris), whatever the machine's time zone: the « date future » rule compares a
    Date d'arrêté with this date (with TZ=Pacific/Kiritimati, the machine's date is already tomorrow in Paris).

    The zone comes from the system's database or the `tzdata` package (a dependency, for systems without
    one); failing both, from the EU rule (UTC+1, UTC+2 from the last Sunday of March to the last Sunday of
    October, at 01:00 UTC), which has given Paris time since 1996."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    now = datetime.now(UTC)
    try:
        return now.astimezone(ZoneInfo("Europe/Paris")).date()
    except ZoneInfoNotFoundError:
        pass

    def last_sunday(month: int) -> datetime:
        day = datetime(now.year, month, 31, 1, tzinfo=UTC)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    summer = last_sunday(3) <= now < last_sunday(10)
    return (now + timedelta(hours=2 if summer else 1)).date()
