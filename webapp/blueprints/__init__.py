"""Web doors: each blueprint parses a request, calls one service and renders the result."""
