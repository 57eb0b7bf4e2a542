"""nostain's training package: simulate plates, train the regressor, evaluate, export to TF.js."""

__version__ = "0.1.0"
