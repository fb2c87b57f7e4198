"""Background work: claiming due jobs, delivering webhooks, retrying with backoff."""
