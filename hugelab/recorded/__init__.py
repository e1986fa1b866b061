"""Records replayed on real kernels, with their provenance (see hugelab.tools.matrix)."""
