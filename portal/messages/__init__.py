"""The portal's side of messaging: configuration, the dispatch job, webhooks, staff pages."""
