"""The allowlist of the classes a saved folder may name: nothing else is ever
imported or built by :func:`skimdb.persistence.load`.

A loadable class owns its saved state: it defines ``_get_saved_state()`` and
the classmethod ``_from_saved_state(params, state)`` (see
``docs/developers.rst``).
"""

import importlib

__all__ = ["DESCRIPTION", "loadable_class", "saveable"]

#: The modules whose public estimators are saved and loaded.
_MODULES = ("skimdb.preprocessing", "skimdb.text")
#: The network classes, and the class each comes back as for ``load``'s
#: ``network`` argument: the estimator, or a predictor that imports no TensorFlow.
_NETWORKS = {
    ("skimdb.network", "IMDBNet"): {
        "keras": ("skimdb.network", "IMDBNet"),
        "numpy": ("skimdb.network._inference", "NetworkPredictor"),
    },
}
#: The first saves named a network's class without its module.
_FIRST_LAYOUT_MODULES = {name: module for module, name in _NETWORKS}
DESCRIPTION = "IMDBNet and the steps of " + ", ".join(_MODULES)


def loadable_class(module_name, class_name, network="keras"):
    """The class that ``module_name.class_name`` loads as, or None if it is not
    on the allowlist."""
    if not isinstance(class_name, str):
        return None
    if module_name is None:
        module_name = _FIRST_LAYOUT_MODULES.get(class_name)
    target = _NETWORKS.get((module_name, class_name), {}).get(network)
    if target is not None:
        return getattr(importlib.import_module(target[0]), target[1])
    if module_name not in _MODULES:
        return None
    from sklearn.base import BaseEstimator

    cls = getattr(importlib.import_module(module_name), class_name, None)
    if (
        isinstance(cls, type)
        and issubclass(cls, BaseEstimator)
        and cls.__module__ == module_name
        and not class_name.startswith("_")
        and hasattr(cls, "_from_saved_state")
        and hasattr(cls, "_get_saved_state")
    ):
        return cls
    return None


def saveable(estimator):
    """Whether ``estimator`` is of a class on the allowlist (not a subclass)."""
    cls = type(estimator)
    return loadable_class(cls.__module__, cls.__name__) is cls
