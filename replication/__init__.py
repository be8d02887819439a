"""Moving images between places: promotion between projects, remote registry
endpoints, replication rules and their runs (see ARCHITECTURE.md, "Replication")."""
