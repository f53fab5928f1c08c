"""An adversary of the published reports, independent of the project's secret model (tests only).

It reads the rendered Markdown or HTML as a reader would (its own parsers), writes down the linear facts
the report states — a distribution sums to its base, Oui + Non + Non renseigné = base, categories and
motifs sum up, the territoires sum to the national row, a rate « p % (x / y) » gives x and y, the same
figure in a key figure and a table — and, with its own linear programs (HiGHS), computes for every
« < 5 » (1 … 4) and « s » (only known to be ≥ 1) the interval it can pin the count to.
"""

from __future__ import annotations

import html.parser
import re
from dataclasses import dataclass, field

NBSP, NNBSP = "\u00a0", "\u202f"
DYNAMIQUES = ("Emploi durable", "Emploi de transition", "Sortie positive")


@dataclass
class Table:
    titre: str
    champ: str
    entetes: list[str]
    lignes: list[list[str]]
    notes: list[str] = field(default_factory=list)
    partie: str = ""  # the title of the part (« Programme PHC … »): each programme's figures are its own


@dataclass
class Published:
    tables: list[Table]
    cartes: list[tuple[str, str, str]]  # value, text, detail


# -- parsers -----------------------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.strip())


def parse_markdown(text: str) -> Published:
    lines = text.splitlines()
    tables: list[Table] = []
    cartes = []
    partie = ""
    for line in lines:
        if line.startswith("## "):
            partie = line[3:]
        m = re.match(r"^- \*\*(.+?)\*\* (.+?)(?: \((.+)\))?(?: — national : .*)?$", line)
        if m and partie == "Chiffres clés":  # the report's key figures (a part's own are in its tables)
            cartes.append((_md_cell(m.group(1)), _md_cell(m.group(2)), _md_cell(m.group(3) or "")))
    i = 0
    partie = ""
    while i < len(lines):
        if lines[i].startswith("## "):
            partie = lines[i][3:]
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|:"):
            titre = next(_md_cell(lines[j][2:-2]) for j in range(i - 1, -1, -1) if lines[j].startswith("**"))
            champ = next(_md_cell(lines[j][1:-1]) for j in range(i - 1, -1, -1) if lines[j].startswith("*Population"))
            split = lambda row: [_md_cell(c) for c in re.split(r"(?<!\\)\|", row)[1:-1]]  # noqa: E731
            entetes = split(lines[i])
            j, rows = i + 2, []
            while j < len(lines) and lines[j].startswith("| "):
                rows.append(split(lines[j]))
                j += 1
            notes = []
            while j < len(lines) and not lines[j].startswith(("**", "#")):
                if lines[j].strip():
                    notes.append(_md_cell(lines[j]))
                j += 1
            tables.append(Table(titre, champ, entetes, rows, notes, partie))
            i = j
        else:
            i += 1
    return Published(tables, cartes)


class _Html(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.cartes: list[tuple[str, str, str]] = []
        self.stack: list[tuple[str, str]] = []
        self.text = ""
        self.row: list[str] | None = None
        self.card: dict[str, str] | None = None
        self.skip = 0
        self.partie = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if tag in ("svg", "style", "title", "script"):
            self.skip += 1
        if tag == "table":
            self.tables.append(Table("", "", [], [], partie=self.partie))
        elif tag == "tr":
            self.row = []
        elif tag == "li" and "carte" in cls:
            self.card = {}
        self.stack.append((tag, cls))
        self.text = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("svg", "style", "title", "script"):
            self.skip -= 1
        while self.stack and self.stack[-1][0] != tag:
            self.stack.pop()
        if not self.stack:
            return
        _, cls = self.stack.pop()
        text = self.text.strip()
        if tag == "h2":
            self.partie = re.sub(r"^\d+\. ", "", text)
        elif tag == "caption":
            self.tables[-1].titre = text
        elif tag in ("th", "td") and self.row is not None:
            self.row.append(text)
        elif tag == "tr" and self.row is not None:
            table = self.tables[-1]
            if not table.entetes:
                table.entetes = self.row
            else:
                table.lignes.append(self.row)
            self.row = None
        elif tag == "p" and cls in ("champ", "note") and self.tables:
            if cls == "champ":
                self.tables[-1].champ = text
            else:
                self.tables[-1].notes.append(text)
        elif tag == "span" and self.card is not None:
            self.card[cls] = text
        elif tag == "li" and self.card is not None and self.partie == "Chiffres clés":
            self.cartes.append((self.card.get("valeur", ""), self.card.get("texte", ""), self.card.get("detail", "")))
            self.card = None
        self.text = ""

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.text += data


def parse_html(text: str) -> Published:
    parser = _Html()
    parser.feed(text)
    return Published(parser.tables, parser.cartes)


# -- the adversary's facts ---------------------------------------------------------------------------------
Expr = dict[str, float]  # variable → coefficient; "" → constant


class Facts:
    def __init__(self, seuil: int) -> None:
        self.seuil = seuil
        self.bounds: dict[str, tuple[float, float]] = {}
        self.labels: dict[str, str] = {}
        self.rows: list[tuple[Expr, float, float]] = []  # lo ≤ expr ≤ hi
        self.named: dict[str, Expr] = {}
        self.shares = 0  # shares read as facts (`share`)

    def tok(self, token: str, where: str) -> Expr | None:
        """A published count: a constant, or a fresh unknown for « < 5 » / « s »; None for anything else."""
        token = token.strip().replace(NNBSP, "").replace(NBSP, " ")
        if re.fullmatch(r"\d+", token):
            return {"": float(token)}
        if token in (f"< {self.seuil}", "s"):
            var = f"v{len(self.bounds)}"
            self.bounds[var] = (1.0, float(self.seuil - 1)) if token.startswith("<") else (1.0, float("inf"))
            self.labels[var] = where
            return {var: 1.0}
        return None

    def rate(self, token: str, where: str) -> tuple[Expr | None, Expr | None]:
        m = re.search(r"\((.+?) / (.+?)\)(?: — .*)?$", token.replace(NNBSP, "").replace(NBSP, " "))
        if not m:
            return None, None
        return self.tok(m.group(1), where + " (n)"), self.tok(m.group(2), where + " (base)")

    def same(self, name: str, expr: Expr | None) -> Expr | None:
        if expr is None:
            return self.named.get(name)
        if name in self.named:
            self.eq(self.named[name], expr)
        else:
            self.named[name] = expr
        return expr

    def relate(self, terms: list[tuple[float, Expr | None]], lo: float, hi: float) -> None:
        if any(e is None for _, e in terms):
            return
        out: Expr = {}
        for coef, expr in terms:
            for k, v in (expr or {}).items():
                out[k] = out.get(k, 0.0) + coef * v
        self.rows.append((out, lo, hi))

    def eq(self, a: Expr | None, b: Expr | None, *parts: Expr | None) -> None:
        """a = b + parts…"""
        self.relate([(1.0, a), (-1.0, b), *((-1.0, p) for p in parts)], 0.0, 0.0)

    def total(self, total: Expr | None, parts: list[Expr | None]) -> None:
        self.relate([(1.0, total), *((-1.0, p) for p in parts)], 0.0, 0.0)

    def le(self, small: Expr | None, big: Expr | None) -> None:
        self.relate([(1.0, small), (-1.0, big)], float("-inf"), 0.0)

    def share(self, token: str, n: Expr | None, base: Expr | None) -> None:
        """A share « p % » of n over base, rounded to a whole percent: (p − ½) % · base ≤ n ≤ (p + ½) % · base
        (« < 1 % »: 0 < n ≤ ½ % · base); « n.s. » tells nothing."""
        token = token.replace(NNBSP, "").replace(NBSP, " ").strip()
        m = re.fullmatch(r"(<\s*)?(\d+) %", token)
        if not m:
            return
        self.shares += 1
        p = 0 if m.group(1) else int(m.group(2))
        if base is not None and set(base) == {""}:  # a known base: the integers of the interval
            b = int(base[""])
            self.relate([(1.0, n)], -(-(2 * p - 1) * b // 200), ((2 * p + 1) * b - 1) // 200)
            return
        self.relate([(1.0, n), (-(p - 0.5) / 100, base)], 0.0, float("inf"))
        self.relate([(1.0, n), (-(p + 0.5) / 100, base)], float("-inf"), 0.0)


def _base_name(table: Table) -> str | None:
    champ = table.champ
    if "Base :" not in champ:
        return None
    if "salarié·es accompagné·es" in champ.split("Base :")[1]:
        return "acc"
    if "dont la situation logement est connue" in champ:
        return "log.base"
    if "sorties hors sorties neutres" in champ:
        return "hn"
    if "salarié·es sorti·es" in champ.split("Base :")[1]:
        return "sor"
    return None


def _base_token(table: Table) -> str:
    m = re.search(r"Base : (.+?) (?:salarié·es|sorties)", table.champ.replace(NBSP, " "))
    return m.group(1) if m else ""


def facts(pub: Published, seuil: int, annee: int) -> Facts:
    f = Facts(seuil)
    matrix_first = sorted(pub.tables, key=lambda t: not t.titre.startswith("Situation logement : de l'entrée"))
    # the effectifs first (their names are the bases of everything), the housing matrix before its rates
    tables = sorted(matrix_first, key=lambda t: not t.titre.startswith("Effectifs "))
    spaces: dict[str, dict[str, Expr]] = {}
    for t in tables:
        # each programme's part has its own effectifs (the CVG part and the PHC part are other people)
        f.named = spaces.setdefault("PHC" if "Programme PHC" in t.partie else "", {})
        where = f"{t.partie} · {t.titre}"
        base = _base_name(t)
        if base:
            f.same(base, f.tok(_base_token(t), f"{where} · base"))
        heads = t.entetes
        if t.titre.startswith("Effectifs "):
            names = {"Salarié·es accompagné·es": "acc", "dont en parcours": "debut", "dont entré·es": "ent",
                     "Salarié·es sorti·es": "sor", "Salarié·es en parcours au": "fin"}
            for row in t.lignes:
                for prefix, name in names.items():
                    if row[0].startswith(prefix):
                        f.same(name, f.tok(row[1], f"{where} · {row[0]}"))
            f.eq(f.named.get("acc"), f.named.get("debut"), f.named.get("ent"))
            f.eq(f.named.get("acc"), f.named.get("fin"), f.named.get("sor"))
        elif heads[1:3] == ["Oui", "Non"]:
            with_nr = heads[3] == "Non renseigné"
            for row in t.lignes:
                oui, non = (f.tok(c, f"{where} · {row[0]} · {h}") for c, h in zip(row[1:3], heads[1:3], strict=True))
                nr = f.tok(row[3], f"{where} · {row[0]} · NR") if with_nr else {"": 0.0}
                f.total(f.named.get("acc"), [oui, non, nr])
                n, b = f.rate(row[4 if with_nr else 3], f"{where} · {row[0]}")
                f.eq(n, oui)
                f.total(b, [oui, non])
                if t.titre.startswith("Difficultés"):
                    f.same(f"diff:{row[0]}", oui)
        elif len(heads) >= 3 and heads[1] == "Effectif" and heads[2] == "Part":
            cells = [f.tok(row[1], f"{where} · {row[0]}") for row in t.lignes]
            f.total(f.named.get(base or "acc"), cells)  # a distribution sums to its base
            if t.titre.startswith("Nombre de difficultés"):
                counts = {int(row[0]): c for row, c in zip(t.lignes, cells, strict=True)}
                for note in t.notes:
                    if note.startswith("Salarié·es cumulant"):
                        n, b = f.rate(note.rstrip("."), f"{where} · cumul")
                        f.total(n, [counts[k] for k in range(3, 8) if k in counts])
                        f.eq(b, f.named.get("acc"))
                diffs = [e for k, e in f.named.items() if k.startswith("diff:")]
                f.relate([*((1.0, d) for d in diffs), *((-float(k), c) for k, c in counts.items() if k)], 0.0, 0.0)
        elif t.titre.startswith("Mobilisation des chargé·es"):
            for row in t.lignes:
                base_tok = f.tok(row[2], f"{where} · {row[0]} · base")
                n, b = f.rate(row[3], f"{where} · {row[0]}")
                f.eq(b, base_tok)
                f.le(n, b)
                key = {"Emploi": "acc", "Santé": "diff:Santé", "Logement": "diff:Logement"}.get(row[0])
                if key:
                    f.same(key, base_tok)
        elif t.titre.startswith("Durée de parcours"):
            n, b = f.rate(t.lignes[-1][1], f"{where} · plus de 24 mois")
            f.same("plus24", n)
            f.eq(b, f.named.get("sor"))
            f.le(n, b)
        elif t.titre.startswith("Accompagnement post-sortie"):
            col = {h.split(" (")[0]: i for i, h in enumerate(heads)}
            for row in t.lignes:
                sortis = f.tok(row[1], f"{where} · {row[0]} · sorti·es")
                cn, cb = f.rate(row[col["Contacté·es"]], f"{where} · {row[0]} · contacté·es")
                sn, sb = f.rate(row[col["Situation stabilisée"]], f"{where} · {row[0]} · stabilisé·es")
                if "Non renseigné" in col:
                    f.eq(sortis, cb, f.tok(row[col["Non renseigné"]], f"{where} · {row[0]} · NR"))
                else:
                    f.le(cb, sortis)
                f.le(cn, cb), f.eq(sb, cn), f.le(sn, sb), f.le(sortis, f.named.get("sor"))
        elif t.titre == "Sorties dynamiques":
            n, b = f.rate(t.lignes[0][1], f"{where} · taux")
            f.same("dyn", n), f.same("hn", b)
            n2, b2 = f.rate(t.lignes[1][1], f"{where} · emploi durable")
            f.same("cat:Emploi durable", n2), f.same("hn", b2)
            f.same("viacp", f.tok(t.lignes[2][1], f"{where} · via CP"))
            f.le(f.named.get("viacp"), f.named.get("dyn"))
        elif t.titre == "Sorties par catégorie":
            cats = {row[0].replace(" (*)", ""): f.same(f"cat:{row[0].replace(' (*)', '')}",
                                                       f.tok(row[1], f"{where} · {row[0]}")) for row in t.lignes}
            neutral = [row[0].replace(" (*)", "") for row in t.lignes if row[2] == "hors base"]
            f.total(f.named.get("hn"), [c for k, c in cats.items() if k not in neutral])
            f.total(f.named.get("sor"), [f.named.get("hn"), *(cats[k] for k in neutral)])
            f.total(f.named.get("dyn"), [cats.get(k) for k in DYNAMIQUES if k in cats])
        elif t.titre == "Sorties par motif":
            per_cat: dict[str, list[Expr | None]] = {}
            cells = []
            for row in t.lignes:
                c = f.tok(row[2], f"{where} · {row[0]}")
                cells.append(c)
                per_cat.setdefault(row[1], []).append(c)
            f.total(f.named.get("sor"), cells)
            for cat, parts in per_cat.items():
                if cat:
                    f.total(f.named.get(f"cat:{cat}"), parts)
        elif t.titre.startswith("Situation logement : de l'entrée"):
            # the last column and row: each entry and exit situation's share of the base (the chart's bars)
            shares = heads[-1] == "Part à l'entrée"
            inner, cats = (t.lignes[:-1], heads[1:-1]) if shares else (t.lignes, heads[1:])
            grid = [[f.tok(c, f"{where} · {row[0]} → {h}") for c, h in zip(row[1:], cats, strict=False)]
                    for row in inner]
            f.total(f.named.get("log.base"), [c for row in grid for c in row])
            if shares:
                for i, row in enumerate(inner):
                    f.share(row[-1], _sum(grid[i]), f.named.get("log.base"))
                for j, text in enumerate(t.lignes[-1][1:len(cats) + 1]):
                    f.share(text, _sum([r[j] for r in grid]), f.named.get("log.base"))
            size = len(grid)
            last = size - 1
            cells = {(i, j): grid[i][j] for i in range(size) for j in range(size)}
            for name, keep in (("log.amel.sum", [c for (i, j), c in cells.items() if j > i]),
                               ("log.degr.sum", [c for (i, j), c in cells.items() if j < i]),
                               ("log.per.sum", [c for (i, j), c in cells.items() if j == last and i != last])):
                total = _sum(keep)
                if total is not None:
                    f.named[name] = total
        elif t.titre == "Évolution de la situation logement":
            for row, key in zip(t.lignes, ("log.amel", "log.degr", "log.per", "log.viacp"), strict=False):
                n, b = f.rate(row[1], f"{where} · {row[0]}")
                f.same(key, n)
                if key == "log.viacp":
                    f.eq(b, f.named.get("log.amel"))
                else:
                    f.eq(b, f.named.get("log.base"))
                f.le(n, b)
            for key in ("log.amel", "log.degr", "log.per"):
                f.eq(f.named.get(key), f.named.get(key + ".sum"))
        elif t.titre.startswith("Prise en charge santé"):
            ns = []
            for row in t.lignes:
                n, b = f.rate(row[1], f"{where} · {row[0]}")
                f.eq(b, f.named.get("sor"))
                ns.append(n)
            for n in ns[1:]:
                f.le(n, ns[0])
            f.relate([(1.0, ns[0]), *((-1.0, n) for n in ns[1:])], float("-inf"), 0.0)
        elif t.titre.startswith("Résolution des difficultés"):
            with_nr = "Non renseigné" in heads
            for row in t.lignes:
                r, e, nres = (f.tok(c, f"{where} · {row[0]} · {h}") for c, h in zip(row[1:4], heads[1:4], strict=True))
                nr = f.tok(row[4], f"{where} · {row[0]} · NR") if with_nr else {"": 0.0}
                n, b = f.rate(row[5 if with_nr else 4], f"{where} · {row[0]}")
                f.total(n, [r, e])
                f.total(b, [r, e, nres])
                f.relate([(1.0, r), (1.0, e), (1.0, nres), (1.0, nr), (-1.0, f.named.get("sor"))], float("-inf"), 0.0)
                f.relate([(1.0, r), (1.0, e), (1.0, nres), (1.0, nr), (-1.0, f.named.get(f"diff:{row[0]}"))],
                         float("-inf"), 0.0)
        elif t.titre.startswith("Parcours PHC"):
            acc, ent, sor = (f.tok(row[1], f"{where} · {row[0]}") for row in t.lignes[:3])
            n, b = f.rate(t.lignes[-1][1], f"{where} · poursuite")
            f.le(ent, acc), f.le(sor, acc), f.le(b, sor), f.le(n, b)
            if "Programme PHC" in t.partie:  # the PHC part: its block is its effectifs
                f.same("acc", acc), f.same("ent", ent), f.same("sor", sor)
        elif t.titre.startswith(("Évolution ", "Effectifs et sorties dynamiques")) and "Accompagné·es" in heads:
            national = not t.titre.startswith("Évolution ")
            rows = {}
            for row in t.lignes:
                if national and row[0] == "National":  # the national row: the report's own effectifs
                    for name, c in zip(("acc", "ent", "sor", "fin"), row[2:6], strict=True):
                        f.same(name, f.tok(c, f"{where} · national · {name}"))
                    continue
                key = "" if (not national and row[0] == str(annee)) else f"@{row[0]}"
                cells = {name: f.tok(c, f"{where} · {row[0]} · {name}") for name, c in
                         zip(("acc", "ent", "sor", "fin"), row[2:6], strict=True)}
                cells["dyn"], cells["hn"] = f.rate(row[6], f"{where} · {row[0]} · sorties dynamiques")
                for name in cells:
                    if not national:
                        cells[name] = f.same(name + key, cells[name])
                f.eq(cells["acc"], cells["fin"], cells["sor"])
                f.le(cells["dyn"], cells["hn"]), f.le(cells["hn"], cells["sor"])
                rows[row[0]] = cells
            if national:
                for name in ("acc", "ent", "sor", "fin", "dyn", "hn"):
                    f.total(f.named.get(name), [c[name] for c in rows.values()])
            else:
                for y in rows:
                    prev = str(int(y) - 1)
                    if prev in rows:
                        f.eq(rows[y]["acc"], rows[prev]["fin"], rows[y]["ent"])
                if str(annee - 1) in rows:
                    f.eq(f.named.get("debut"), rows[str(annee - 1)]["fin"])
    f.named = spaces.setdefault("", {})
    for value, texte, detail in pub.cartes:
        names = {"salarié·es accompagné·es": "acc", "salarié·es entré·es dans l'année": "ent",
                 "salarié·es sorti·es dans l'année": "sor"}
        if texte in names:
            f.same(names[texte], f.tok(value, f"carte · {texte}"))
        elif "CP) emploi" in texte:
            f.same("viacp", f.tok(value, f"carte · {texte}"))
        else:
            rates = {"accèdent à l'emploi": ("dyn", "hn"), "situation logement s'améliorer": ("log.amel", "log.base"),
                     "logement pérenne": ("log.per", "log.base"), "ouverture de droits": (None, "sor"),
                     "plus de 24 mois": ("plus24", "sor"), "3 à 7 difficultés": (None, "acc")}
            for part, (nn, bb) in rates.items():
                m = re.match(r"(.+?) / (.+?)(?: —|$)", detail)
                if part in texte and m:
                    n, b = f.tok(m.group(1), f"carte · {texte}"), f.tok(m.group(2), f"carte · {texte} (base)")
                    if nn:
                        f.same(nn, n)
                    f.same(bb, b)
    return f


def _sum(terms: list[Expr | None]) -> Expr | None:
    if any(t is None for t in terms):
        return None
    out: Expr = {}
    for t in terms:
        for k, v in (t or {}).items():
            out[k] = out.get(k, 0.0) + v
    return out


def attack(f: Facts) -> dict[str, tuple[float, float]]:
    """For every unknown: the smallest and largest value consistent with every fact (LP, then rounded in)."""
    import math

    import highspy
    import numpy as np

    names = list(f.bounds)
    if not names:
        return {}
    index = {k: i for i, k in enumerate(names)}
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    h.addVars(len(names), np.array([f.bounds[k][0] for k in names]),
              np.array([min(f.bounds[k][1], inf) for k in names]))
    for expr, lo, hi in f.rows:
        const = expr.get("", 0.0)
        terms = [(index[k], v) for k, v in expr.items() if k and v]
        if not terms:
            continue
        h.addRow(lo - const if lo > -math.inf else -inf, hi - const if hi < math.inf else inf, len(terms),
                 np.array([i for i, _ in terms], dtype=np.int32), np.array([v for _, v in terms]))
    out = {}
    for k in names:
        ends = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            costs = np.zeros(len(names))
            costs[index[k]] = 1.0
            h.changeColsCost(len(names), np.arange(len(names), dtype=np.int32), costs)
            h.changeObjectiveSense(sense)
            h.run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                ends.append(h.getInfo().objective_function_value)
            elif status == highspy.HighsModelStatus.kUnbounded:
                ends.append(math.inf)
            else:
                raise AssertionError(f"the adversary's facts are inconsistent: {h.modelStatusToString(status)}")
        out[f.labels[k]] = (math.ceil(ends[0] - 1e-6), ends[1] if ends[1] == math.inf else math.floor(ends[1] + 1e-6))
    return out
