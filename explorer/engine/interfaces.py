"""The public ONNX interface of every registered family, and the family guess for a bare session.

The interfaces themselves are part of each family's registry entry (``explorer.families``);
the generic description and check live in ``explorer.tensorspec``.
"""

from __future__ import annotations

from explorer.families import FAMILIES
from explorer.tensorspec import ORT_TYPES, ModelInterface, TensorSpec, check_interface, interface_problems

__all__ = ["TensorSpec", "ModelInterface", "INTERFACES", "ASTROMER1", "ASTROMER2", "ATCAT_INTERFACE",
           "check_interface", "interface_problems", "detect_kind", "ORT_TYPES"]

INTERFACES: dict[str, ModelInterface] = {kind: f.interface for kind, f in FAMILIES.items()}
ASTROMER1 = INTERFACES["astromer1"]
ASTROMER2 = INTERFACES["astromer2"]
ATCAT_INTERFACE = INTERFACES["atcat"]


def detect_kind(session) -> str | None:
    """Guess the family from the input names (None when no family has them); shapes break ties.

    Families sharing one interface (Astromer 1 / 2 / 1-ZTF; Chronos-Bolt / Chronos 2) cannot be told
    apart from the file: the first registered one is returned. Among families with the same input
    names, the one whose interface fits best wins (fewest problems, then the one fixing exactly the
    dimensions the file fixes: a free context is Chronos, a fixed 512 MOMENT); the load then reports
    any remaining difference.
    """
    args = {a.name: a for a in session.get_inputs()}
    best, best_score = None, None
    for kind, interface in INTERFACES.items():
        if set(args) != {s.name for s in interface.inputs}:
            continue
        loose = sum(1 for s in interface.inputs for want, have in zip(s.shape, args[s.name].shape or ())
                    if want is not None and not (isinstance(have, int) and have > 0))
        score = (len(interface_problems(session, interface)), loose)
        if best_score is None or score < best_score:
            best, best_score = kind, score
    return best
