"""The REST API other systems use: tokens with scopes (the endpoints come with their issues)."""
