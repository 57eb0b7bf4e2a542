"""nostain's training package: simulate plates, train the transfer-learning regressor, evaluate, export to TF.js."""

__version__ = "0.1.0"
