"""Admin views of field definitions (of databases and collections)."""
