"""One person, one identifier: how `id_salarie` is normalised before it is compared or pseudonymised.

An identifier typed or pasted into Excel can carry characters nobody sees: a zero-width space, a right-to-left
mark, a soft hyphen, a no-break space, accents written as a letter plus a combining accent, full-width letters
(ＡＢ１２). Two spellings that look the same must be the same person: the same duplicate check (check/validate.py)
and the same pseudonym (ingest.pseudonymise). `normalise_identifier` is that one rule:

1. drop every invisible character: controls (Cc), format characters (Cf: zero-width space and joiners, LRM/RLM
   and the other bidirectional marks, soft hyphen, BOM…), the other default-ignorable code points of Unicode
   (variation selectors, combining grapheme joiner, Hangul fillers…), and **all whitespace, inside included**
   (« AB 12 » is « AB12 »: ACIs group digits with spaces as they do in a SIRET, which cvg reads without its
   spaces too; no ACI tells two people apart by a space);
2. Unicode NFKC (compatibility forms: full-width letters and digits, ligatures, composed accents);
3. case folding (`str.casefold`): identifiers are **case-blind**, as they are in the spreadsheets the ACIs keep
   them in (Excel's RECHERCHEV, NB.SI and duplicate highlighting ignore case), so « ab12 » and « AB12 » are one
   person;
4. hyphen look-alikes (‐ ‑ ‒ – −) become the ASCII hyphen-minus « - ».

The steps are repeated until nothing changes (at most a few times, for pathological inputs), so the function
is idempotent. Accents are kept (« é » and « e » stay different), as are punctuation and leading zeros. An
identifier made only of invisible characters is no identifier (empty: the reader treats the cell as empty).

`normalise_column` applies the same rule to a polars Series (ASCII values, nearly all of them, in vectorised
polars; the others value by value through `normalise_identifier`); tests/test_identifiers.py checks that both
agree on any text.

PSEUDONYM_VERSION names this rule in the store: each snapshot records the version its pseudonyms were made with
(`snapshots.version_pseudonymes`); version 1 was the HMAC of the identifier with only its outer spaces removed
(cvg before this module). Pseudonyms of different versions are never compared (store/db.py, ingest/run.py).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

PSEUDONYM_VERSION = 2

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) that are not category Cf: invisible too.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned specials
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2212"})
_ASCII_INVISIBLE = str.maketrans("", "", "".join(map(chr, [*range(0x21), 0x7F])))
_MAX_ROUNDS = 5


def _invisible(char: str) -> bool:
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES or char.isspace():
        return True
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES)


def _drop_invisible(text: str) -> str:
    return "".join(c for c in text if not _invisible(c))


def _round(text: str) -> str:
    text = unicodedata.normalize("NFKC", _drop_invisible(text))
    text = unicodedata.normalize("NFKC", text.casefold())
    return _drop_invisible(text).translate(_DASHES)


def normalise_identifier(text: str) -> str:
    """The identifier as compared and pseudonymised (see the module's docstring); "" when nothing is left."""
    if text.isascii():  # NFKC changes no ASCII text and casefold is lower(): only controls and spaces to drop
        if text.isprintable() and " " not in text:  # the usual case, ~5x faster than the translation
            return text.lower()
        return text.translate(_ASCII_INVISIBLE).lower()
    for _ in range(_MAX_ROUNDS):
        done = _round(text)
        if done == text:
            break
        text = done
    return text


def normalise_column(values: pl.Series) -> pl.Series:
    """`normalise_identifier` of each value of a String Series, same name; null stays null and an identifier
    with nothing left becomes null."""
    import polars as pl

    values = values.cast(pl.String)  # a column of empty cells may come typed Null
    is_ascii = values.str.contains(r"^[\x00-\x7f]*$")
    fast = values.str.replace_all(r"[\x00-\x20\x7f]", "").str.to_lowercase()
    others = values.filter(~is_ascii).unique()
    if others.len():
        slow = values.replace_strict(
            others, [normalise_identifier(v) for v in others.to_list()], default=None, return_dtype=pl.String
        )
        out = pl.select(pl.when(is_ascii).then(fast).otherwise(slow)).to_series(0)
    else:
        out = fast
    return pl.select(pl.when(out != "").then(out)).to_series(0).alias(values.name)
