"""Web plumbing shared by every blueprint: htmx helpers, error pages, security headers."""
