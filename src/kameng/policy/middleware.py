"""One policy read per request: see kameng.policy.services.read_once."""

from .services import read_once


class PolicyOncePerRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with read_once():
            return self.get_response(request)
