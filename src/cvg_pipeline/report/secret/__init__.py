"""The secret statistique of the published reports (indicators.md §5, issue 16).

- `model`: every published count as a variable with its true value, and the linear facts a reader knows
  (sums, bases, rates, shares as intervals);
- `suppress`: primary secret (counts 1 … seuil − 1, status ``A``) and secondary secret (status ``D``), a
  hypercube-style heuristic followed by a linear-programming audit that adds protection until it holds;
- `verify`: the audit itself, the interval an adversary can reach for every hidden count (HiGHS).
- `state`: what `suppress.protect` keeps up to date between its rounds (hidden cells per equality, the
  components of the unknowns) instead of counting again from the model.

The report builder only declares cells and relations; nothing here parses the rendered output.
"""
