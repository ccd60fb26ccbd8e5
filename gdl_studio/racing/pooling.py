"""How several Ms judge one controller: their mean dream returns pooled into one figure.

Dream CMA-ES with critics (``train world-model dream-controller --critic-mdn``) and the fidelity
bench (``bench racing --fidelity --critic-mdn``) use the same rules. The pessimistic ones make a
controller that exploits one M's mistakes score what the other Ms predict for it. Light on
purpose (numpy is imported when pooling), so the CLI can offer the rules without loading it.
"""

from __future__ import annotations

POOLS = ("min", "mean", "mean-std", "mean-2std")
POOL_TEXT = {
    "min": "the lowest of the Ms' mean dream returns",
    "mean": "the mean over the Ms of their mean dream returns",
    "mean-std": "the mean over the Ms of their mean dream returns minus one standard deviation across the Ms",
    "mean-2std": "the mean over the Ms of their mean dream returns minus two standard deviations across the Ms",
}


def check_pool(rule: str) -> str:
    """``rule`` when it is one of :data:`POOLS`; else ``UserError`` with one line (checked before
    any dream is taken, so a typo costs nothing)."""
    from gdl_studio.core.errors import UserError

    if rule not in POOLS:
        raise UserError(_unknown(rule))
    return rule


def _unknown(rule: str) -> str:
    return f"unknown pooling rule {rule!r} (choose {', '.join(POOLS)})"


def pool_returns(per_m, rule: str = "min"):
    """(M, N) mean dream returns of N controllers in each of M Ms → (N,) numpy array by ``rule``
    (:data:`POOLS`); with one M every rule is that M's mean."""
    import numpy as np

    a = np.asarray(per_m, dtype=np.float64)
    if rule == "min":
        return a.min(axis=0)
    if rule == "mean":
        return a.mean(axis=0)
    if rule in ("mean-std", "mean-2std"):
        return a.mean(axis=0) - (1.0 if rule == "mean-std" else 2.0) * a.std(axis=0)
    raise ValueError(_unknown(rule))
