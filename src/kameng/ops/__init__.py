"""Running kameng: the Celery tasks (one per registered job), health checks, Prometheus metrics,
object storage for evidence, the audit log's read model and backup/restore. It reads the domain
apps below it; nothing here changes domain state except through their services (and a restore)."""
