"""module-reconciler: desired module state in git, reconciled against live stores."""

__version__ = "0.1.0"
