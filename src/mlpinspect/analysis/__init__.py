"""Analyses of multilayer perceptrons.

Every function takes a model (anything :func:`mlpinspect.adapt` accepts) and
returns plain numpy arrays or a small frozen result object holding arrays and
the metadata needed to print or plot them.

- weights as images: :func:`weight_images`, :func:`effective_weights`,
  :func:`input_space_images`, :func:`image_shape`;
- top-k excitatory and inhibitory sources: :func:`top_units`;
- exact contribution decomposition: :func:`decompose`, :func:`iter_decompose`,
  :func:`class_contributions`;
- ablation: :func:`ablate`, :func:`unit_importance`;
- numbers that replace eyeballing: :func:`drift_from_init`, :func:`smoothness`;
- attribution to input pixels: :func:`attribute`, :func:`iter_attribute`; a
  unit's preferred input by activation maximisation: :func:`preferred_input`;
- how faithful attributions are: :func:`infidelity`, :func:`max_sensitivity`,
  :func:`deletion_curve`, :func:`insertion_curve`;
- training dynamics: :class:`Snapshots` of the weights over training
  (recorded by a :class:`SnapshotRecorder`), :func:`unit_dynamics` (how and
  when each unit forms);
- what every unit of a layer responds to, and which units are dead, always
  on, saturated or duplicated: :func:`unit_atlas`;
- whether two networks learned the same thing: :func:`cka`,
  :func:`cka_matrix`, :func:`linear_cka`, :func:`match_units`.
"""

from __future__ import annotations

from .ablation import Ablation, UnitImportance, ablate, unit_importance
from .atlas import UnitAtlas, unit_atlas
from .attribution import Attribution, attribute, iter_attribute
from .decomposition import (
    ClassContributions,
    Decomposition,
    class_contributions,
    decompose,
    iter_decompose,
)
from .dynamics import UnitDynamics, unit_dynamics
from .faithfulness import (
    PerturbationCurve,
    deletion_curve,
    infidelity,
    insertion_curve,
    max_sensitivity,
)
from .images import (
    EffectiveWeights,
    effective_weights,
    image_shape,
    input_space_images,
    weight_images,
)
from .maximize import PreferredInput, preferred_input
from .metrics import Drift, Smoothness, drift_from_init, smoothness
from .selection import TopUnits, top_units
from .similarity import (
    CKAMatrix,
    UnitMatching,
    cka,
    cka_matrix,
    linear_cka,
    match_units,
)
from .snapshots import SnapshotRecorder, Snapshots

__all__ = [
    "Ablation",
    "Attribution",
    "CKAMatrix",
    "ClassContributions",
    "Decomposition",
    "Drift",
    "EffectiveWeights",
    "PerturbationCurve",
    "PreferredInput",
    "Smoothness",
    "SnapshotRecorder",
    "Snapshots",
    "TopUnits",
    "UnitAtlas",
    "UnitDynamics",
    "UnitImportance",
    "UnitMatching",
    "ablate",
    "attribute",
    "cka",
    "cka_matrix",
    "class_contributions",
    "decompose",
    "deletion_curve",
    "drift_from_init",
    "effective_weights",
    "image_shape",
    "infidelity",
    "input_space_images",
    "insertion_curve",
    "iter_attribute",
    "iter_decompose",
    "linear_cka",
    "match_units",
    "max_sensitivity",
    "preferred_input",
    "smoothness",
    "top_units",
    "unit_atlas",
    "unit_dynamics",
    "unit_importance",
    "weight_images",
]
