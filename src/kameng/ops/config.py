"""Settings derived from KAMENG_* environment variables, as plain functions of an environment
mapping so settings.py and the tests build them the same way (no Django imports here; boto3 is
imported only when S3 is configured). The Celery options live with the Celery app (kameng.celery)."""

from collections.abc import Mapping


def s3_storage(env: Mapping[str, str]) -> dict | None:
    """STORAGES["default"] for an S3-compatible store, or None when KAMENG_S3_BUCKET is unset.

    Objects are private; downloads go through short-lived presigned URLs
    (KAMENG_S3_URL_EXPIRE seconds, default 60).
    """
    bucket = env.get("KAMENG_S3_BUCKET", "")
    if not bucket:
        return None
    options = {
        "bucket_name": bucket,
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": int(env.get("KAMENG_S3_URL_EXPIRE", "60")),
        "file_overwrite": False,  # evidence is never replaced in place
        "signature_version": "s3v4",
        "location": env.get("KAMENG_S3_PREFIX", ""),
        # Reading an object back (analysis, complaint ZIPs) spools to disk past 1 MiB instead of
        # holding the whole file in memory (django-storages' default).
        "max_memory_size": 1024 * 1024,
    }
    # Multipart uploads in 8 MiB parts, two at a time: a web worker buffers ~16 MiB per upload,
    # not boto3's default of ten parts in flight (~80 MiB).
    from boto3.s3.transfer import TransferConfig

    options["transfer_config"] = TransferConfig(
        multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=2
    )
    for key, option in (
        ("KAMENG_S3_ENDPOINT_URL", "endpoint_url"),
        ("KAMENG_S3_ACCESS_KEY", "access_key"),
        ("KAMENG_S3_SECRET_KEY", "secret_key"),
        ("KAMENG_S3_REGION", "region_name"),
        ("KAMENG_S3_ADDRESSING_STYLE", "addressing_style"),
    ):
        if env.get(key):
            options[option] = env[key]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
