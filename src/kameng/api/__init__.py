"""The REST API v1: error shape, auth, idempotency, pagination, and the assembled routers."""
