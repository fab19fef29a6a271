"""What every page request shares beyond Django's own middleware: the signed-in user's language."""

from django.utils import translation


class UserLanguageMiddleware:
    """A signed-in user's stored language wins over the browser's (runs after auth)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        lang = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if lang:
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        return self.get_response(request)
