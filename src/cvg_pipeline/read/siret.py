"""SIRET spelling rules shared by the reader (sheet Structure) and the command line (`--aci`), without polars."""

from __future__ import annotations


def clean_siret(text: str) -> str:
    """Remove spaces (Unicode ones included) and dots; a number read as `…0.0` loses its `.0`."""
    text = text.strip()
    if text.endswith(".0") and text[:-2].isdigit() and len(text[:-2]) == 14:  # 14 digits read as a number
        text = text[:-2]
    return "".join(ch for ch in text if not ch.isspace() and ch != ".")


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of ASCII digits (SIRET)."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0
