"""Running kameng at scale: the Celery app and its tasks, health checks, Prometheus metrics and
object storage for evidence. Nothing here changes domain state; it calls the domain's services."""
