"""Generators of the model zoo, one module per kind of network; see xtvm.testing.model_zoo."""
