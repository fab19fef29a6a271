"""Template context every page gets: the site name and the signed-in user's role (for the nav)."""


def site(request):
    user = getattr(request, "user", None)
    return {
        "site_name": "卡盟 kameng",
        "role": user.role if user is not None and user.is_authenticated else "",
    }
