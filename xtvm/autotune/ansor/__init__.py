"""Template-free tuning (Ansor style): sketches from the compute, random annotations,
evolutionary search guided by a cost model on loop-nest features.

``apply_state`` is what builds call for a config holding a template-free state
(:data:`xtvm.autotune.dispatch.TEMPLATE_FREE_KEY`); ``AnsorSearch`` proposes states.
"""

from xtvm.autotune.ansor.state import DEFAULT_STATE, apply_state, canonical, state_hash

__all__ = ["DEFAULT_STATE", "AnsorSearch", "apply_state", "canonical", "state_hash"]


def __getattr__(name: str):  # the search pulls in lightgbm: load it only when asked
    if name == "AnsorSearch":
        from xtvm.autotune.ansor.search import AnsorSearch

        return AnsorSearch
    raise AttributeError(name)
