"""Pseudonymisation: `id_salarie` is stored as HMAC-SHA256(store key, SIRET + "\\x1f" + id), in hex, of the
identifier as normalised by read/identifiers.py (look-alike spellings are one identifier). The key is the
store's (`meta.cle_hmac`), never printed nor exported."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cvg_pipeline.read.model import PSEUDO_COLUMN

if TYPE_CHECKING:
    import duckdb

    from cvg_pipeline.read.model import ParsedFile


def hmac_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The store's pseudonymisation key (never printed nor exported)."""
    from cvg_pipeline.check.errors import CvgError

    rows = con.execute("SELECT valeur FROM meta WHERE cle = 'cle_hmac'").fetchall()
    if not rows:
        from cvg_pipeline.store.extract import EXTRACT_MESSAGE, is_extract

        if is_extract(con):  # `cvg extraire` writes no key: an extract cannot ingest
            raise CvgError(EXTRACT_MESSAGE)
        raise CvgError("La base est incomplète (clé de pseudonymisation absente) : recréez-la.")
    return bytes.fromhex(str(rows[0][0]))


def pseudonymise(ids: Sequence[str | None], siret: str, key: bytes) -> list[str | None]:
    """HMAC-SHA256(key, SIRET + "\\x1f" + normalised id) in hex, for each identifier (None stays None).

    The identifier is normalised first (identifiers.normalise_identifier, pseudonym version
    identifiers.PSEUDONYM_VERSION): look-alike spellings of one identifier give one pseudonym. The reader
    has normalised them already (so that duplicates are found on the same values); doing it again here
    costs little (~0.1 µs an identifier) and holds for any caller.

    RFC 2104 spelled out with the two padded-key states hashed once and copied for each identifier: the
    same digests as `hmac.digest`, about twice as fast (tests/test_ingest.py compares them)."""
    from cvg_pipeline.read.identifiers import normalise_identifier

    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    prefix = (siret + "\x1f").encode()
    out: list[str | None] = []
    for i in ids:
        if i is None:
            out.append(None)
            continue
        h = inner.copy()
        h.update(prefix + normalise_identifier(i).encode())
        o = outer.copy()
        o.update(h.digest())
        out.append(o.hexdigest())
    return out


_SHA256_BLOCK = 64


def add_pseudonyms(files: Sequence[ParsedFile], key: bytes) -> None:
    """Add the pseudonymised identifier (PSEUDO_COLUMN) to the rows of every file whose SIRET is known: done
    by the readers, in parallel, so that storing only copies it."""
    import polars as pl

    for pf in files:
        if pf.data is None or pf.structure is None or pf.structure.siret is None or pf.data.height == 0:
            continue
        pf.data = pf.data.with_columns(pl.Series(PSEUDO_COLUMN, pseudonyms_of(pf, key), dtype=pl.String))


def pseudonyms_of(pf: ParsedFile, key: bytes) -> list[str | None]:
    assert pf.data is not None and pf.structure is not None and pf.structure.siret is not None
    if PSEUDO_COLUMN in pf.data.columns:
        return pf.data.get_column(PSEUDO_COLUMN).to_list()
    return pseudonymise(pf.data.get_column("id_salarie").to_list(), pf.structure.siret, key)

