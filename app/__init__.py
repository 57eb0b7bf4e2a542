"""nostain's web server: pages, the model registry and the dose-response fit. No TensorFlow here."""

__version__ = "0.1.0"
