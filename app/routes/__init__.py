"""One module per resource; a reader finds an endpoint by its URL."""
