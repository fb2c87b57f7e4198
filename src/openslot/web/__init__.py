"""Server-rendered pages: the OAuth consent page and the booking page."""
