"""Security at the bottom of the stack: request-rate limits, login lockout rules (django-axes) and
the record of staff actions (AuditRecord). Nothing here speaks HTTP; the API's middlewares
(kameng.api.hygiene) and the lockout page (kameng.web) apply it."""
