"""Pages of the repositories app, one module per resource."""
