"""HTTP routes, one module per resource, collected into `api_router`."""
