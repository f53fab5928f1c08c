"""The linear facts a reader of a report knows: published counts and the relations between them.

A `Cell` is one count of the report (a variable of the adversary's problem), identified by a semantic key
(``profil.sexe.femme``): the same key shown twice — a key figure and a table's total, a rate's base and a
table's row — is one variable. A cell may be unpublished (``published=False``): a quantity the relations
mention but the report never shows (an adversary's unknown from the start). A cell may be published only as a
share (``exact=False``): the report shows its percentage of a base, rounded to a whole percent (a chart's
bar, a table's « Part » column), never the count itself — for the adversary it is an unknown bound by that
share while it is shown, and only known to be at least 1 once hidden (the share is then « n.s. »).

A `Relation` is ``lo ≤ Σ coef · cell ≤ hi``: an equality (a distribution sums to its base, Oui + Non +
Non renseigné = base, territoires sum to the national row), an inequality (a rate's count is at most its
base), or — for a share published as a rounded percentage — the interval ``(p − ½) % · base ≤ n ≤
(p + ½) % · base`` (`Share`, turned into two inequalities once the statuses are known).

A relation that the true values do not satisfy is not a fact: it is dropped (a reader could not use it),
so that inconsistent data never make the audit infeasible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

FREE, PRIMARY, SECONDARY = "F", "A", "D"  # SDMX OBS_CONF: free, primary confidential, secondary

# Cost classes of a cell for the secondary secret (multiplied by the value): hide small counts and
# « Non renseigné » first, headline figures last.
COST_NON_RENSEIGNE = 0.5
COST_ORDINARY = 1.0
COST_MARGIN = 20.0  # a table's total or a rate's base
COST_HEADLINE = 1000.0  # effectifs, national rows, key figures


@dataclass
class Cell:
    key: str
    value: int
    label: str  # where the reader sees it: « Sorties par motif · Décès »
    published: bool = True
    weight: float = COST_ORDINARY
    status: str = FREE
    vague: bool = False  # a primary cell shown « s » rather than « < seuil »: see `suppress`
    exact: bool = True  # False: published only as a rounded share of a base (see the module's docstring)

    @property
    def hidden(self) -> bool:
        return self.status != FREE

    @property
    def known(self) -> bool:
        """The adversary knows this count exactly: it is published as a number and shown."""
        return self.published and self.exact and not self.hidden

    @property
    def cost(self) -> float:
        """The price of hiding this cell (never a zero: an « s » over 0 protects nothing and tells a lie
        about structural zeros; see `suppress`)."""
        return self.weight * max(self.value, 1)


@dataclass(frozen=True)
class Relation:
    terms: tuple[tuple[str, int], ...]  # (cell key, integer coefficient)
    lo: float
    hi: float
    name: str = ""

    @property
    def equality(self) -> bool:
        return self.lo == self.hi

    @cached_property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.terms)

    def members(self) -> tuple[str, ...]:
        return self.keys


@dataclass(frozen=True)
class Share:
    """A percentage of `n` over `base`, published rounded to a whole percent when both are free."""

    n: str
    base: str


@dataclass
class Model:
    seuil: int
    cells: dict[str, Cell] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)
    dropped: list[Relation] = field(default_factory=list)  # relations the true values contradict
    # (n, base) → the percentage shown: the audit asks for the share relations at every round
    percent: dict[tuple[int, int], int] = field(default_factory=dict, repr=False, compare=False)

    # -- declaring ----------------------------------------------------------------------------------------
    def cell(self, key: str, value: int, label: str, *, weight: float = COST_ORDINARY,
             published: bool = True, exact: bool = True) -> Cell:
        """Declare (or find) a cell; a second declaration may raise its weight or publish it (`exact`: as a
        number, not only as a share)."""
        found = self.cells.get(key)
        if found is None:
            found = self.cells[key] = Cell(key, int(value), label, published, weight, exact=exact)
        else:
            if found.value != value:
                raise ValueError(f"cell {key}: two values ({found.value}, {value})")
            found.weight = max(found.weight, weight)
            found.published = found.published or published
            found.exact = found.exact or exact
        return found

    def relation(self, terms: Iterable[tuple[str, int]], lo: float, hi: float, name: str = "") -> None:
        merged: dict[str, int] = {}
        for key, coef in terms:
            if key not in self.cells:
                raise KeyError(f"relation {name}: unknown cell {key}")
            merged[key] = merged.get(key, 0) + coef
        rel = Relation(tuple((k, c) for k, c in merged.items() if c), lo, hi, name)
        if not rel.terms:
            return
        total = sum(self.cells[k].value * c for k, c in rel.terms)
        if lo - 1e-9 <= total <= hi + 1e-9:
            self.relations.append(rel)
        else:
            self.dropped.append(rel)

    def total(self, total: str, parts: Sequence[str], name: str = "") -> None:
        """total = Σ parts."""
        self.relation([(total, 1), *((p, -1) for p in parts)], 0, 0, name or total)

    def at_most(self, small: Sequence[str], big: Sequence[str], name: str = "") -> None:
        """Σ small ≤ Σ big (a rate's count and its base, a subgroup and its group)."""
        self.relation([*((k, 1) for k in small), *((k, -1) for k in big)], float("-inf"), 0, name)

    def weighted(self, left: Mapping[str, int], right: Mapping[str, int], name: str = "") -> None:
        """Σ a·left = Σ b·right (e.g. Σ difficulties Oui = Σ j · people with j difficulties)."""
        self.relation([*left.items(), *((k, -c) for k, c in right.items())], 0, 0, name)

    def share(self, n: str, base: str) -> None:
        self.shares.append(Share(n, base))

    # -- reading ------------------------------------------------------------------------------------------
    def hidden(self) -> list[Cell]:
        """The hidden counts the audit protects: every hidden published count, but a count published only as
        a share that the secondary secret hides (at least the seuil: it was hidden to protect others, its share
        shown « n.s. », and it may stay derivable like any free count)."""
        return [c for c in self.cells.values() if c.published and c.hidden and (c.exact or c.status == PRIMARY)]

    def published_shares(self) -> list[Share]:
        """Shares shown in the report: both their count and their base are free, the base not 0."""
        return [s for s in self.shares
                if not self.cells[s.n].hidden and not self.cells[s.base].hidden and self.cells[s.base].value > 0
                and self.cells[s.n].published and self.cells[s.base].published]

    def share_relations(self) -> list[Relation]:
        """Each published share as two inequalities: 100·n ≥ (p − ½)·base and 100·n ≤ (p + ½)·base, where p
        is the percentage shown (rounded half up). Integer coefficients: ×2."""
        from cvg_pipeline.fr import pourcentage_valeur

        out = []
        for s in self.published_shares():
            values = (self.cells[s.n].value, self.cells[s.base].value)
            p = self.percent.get(values)
            if p is None:
                p = self.percent[values] = pourcentage_valeur(*values)
            out.append(Relation(((s.n, 200), (s.base, -(2 * p - 1))), 0, float("inf"), f"part {s.n}"))
            out.append(Relation(((s.n, 200), (s.base, -(2 * p + 1))), float("-inf"), 0, f"part {s.n}"))
            base = self.cells[s.base]
            if not self.cells[s.n].exact and base.known:
                # a count known only through its share of a known base: the integers of that interval (the
                # LP would not round them; over a base of 100, « 40 % » is exactly 40), half-up rounding
                # excluding the upper end: 200·n ≥ (2p − 1)·base and 200·n < (2p + 1)·base
                lo, hi = -(-(2 * p - 1) * base.value // 200), ((2 * p + 1) * base.value - 1) // 200
                out.append(Relation(((s.n, 1),), max(lo, 0), hi, f"part {s.n} (entiers)"))
        return out

    def all_relations(self) -> list[Relation]:
        return [*self.relations, *self.share_relations()]


def required_width(seuil: int, status: str) -> int:
    """How wide the interval an adversary can reach must be for a hidden cell (max − min, in counts).

    « < seuil » already tells 1 ≤ x ≤ seuil − 1 (width seuil − 2). We ask that the adversary keep at least
    half of the uncertainty the primary secret leaves: width ≥ ⌈(seuil − 1) / 2⌉ — 2 at the default seuil
    5 (at least three possible values), 5 at seuil 10 — capped at seuil − 2 for a primary cell (its widest
    possible interval). A secondary cell is held to the same width. GaussSuppression's safeguard for
    frequency tables asks a width of at least 2 too; τ-ARGUS calls these the protection levels."""
    if seuil <= 2:
        return 0
    width = -(-(seuil - 1) // 2)
    return min(width, seuil - 2) if status == PRIMARY else width
