"""Settings derived from KAMENG_* environment variables, as plain functions of an environment
mapping so settings.py and the tests build them the same way (no Django imports here; boto3 is
imported only when S3 is configured). The Celery options live with the Celery app (kameng.celery)."""

import os
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


def _section(env: Mapping[str, str], prefix: str, names: dict[str, str], required: tuple[str, ...]) -> dict | None:
    values = {option: env.get(f"{prefix}{var}", "").strip() for option, var in names.items()}
    return values if all(values[r] for r in required) else None


def payment_gateways(env: Mapping[str, str]) -> dict[str, dict | None]:
    """Each real gateway's settings, or None while it is not configured (then it is off).

    Only names, URLs and file paths: a key file is read by its adapter when used, and no value
    here is ever logged. The variable names are the contract's (api-v1.md v1.1).
    """
    return {
        "epay": _section(
            env, "KAMENG_EPAY_", {"url": "URL", "pid": "PID", "key": "KEY"}, required=("url", "pid", "key")
        ),
        "alipay": _section(
            env,
            "KAMENG_ALIPAY_",
            {
                "app_id": "APP_ID",
                "private_key_file": "PRIVATE_KEY_FILE",
                "public_key_file": "PUBLIC_KEY_FILE",
                "gateway": "GATEWAY",
            },
            required=("app_id", "private_key_file", "public_key_file"),
        ),
        "wechatpay": _section(
            env,
            "KAMENG_WECHATPAY_",
            {
                "mchid": "MCHID",
                "private_key_file": "PRIVATE_KEY_FILE",
                "cert_serial_no": "CERT_SERIAL_NO",
                "apiv3_key": "APIV3_KEY",
                "appid": "APPID",
                "public_key_file": "PUBLIC_KEY_FILE",
                "public_key_id": "PUBLIC_KEY_ID",
                "gateway": "GATEWAY",
            },
            required=("mchid", "private_key_file", "cert_serial_no", "apiv3_key", "appid", "public_key_file"),
        ),
    }


def local_secret(path) -> str:
    """A random secret made once and kept in `path` (mode 0600): never a default anyone can read in the source."""
    import secrets
    from pathlib import Path

    path = Path(path)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value
