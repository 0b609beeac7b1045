"""Locate-then-edit editors: ROME, MEMIT and AlphaEdit rewrite MLP output projections where
causal tracing finds facts, weighing each edit's key against C = E[k kᵀ] over real text."""
