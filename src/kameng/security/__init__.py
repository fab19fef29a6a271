"""Security and reliability: request-rate limits, login lockouts (django-axes), the strict
Content-Security-Policy, the staff audit log and backups."""
