"""Editors that wrap the model instead of rewriting its weights (GRACE; SERAC lives in editors/serac.py)."""
