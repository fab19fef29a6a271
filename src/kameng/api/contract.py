"""The typed public contract: the building blocks every route's schemas use, and the OpenAPI document
they add up to (typed answers, the `Error` object, each operation's 4xx, headers, security, tags).

How a route is typed (see NEWS.md / README "API contract"):

    @router.post("/things", response={201: ThingOut})   # an `Out` schema, or page_of(ThingOut) for lists
    @raises(Error.THING_TAKEN, Error.WRONG_ROLE)         # the domain errors it can answer (4xx derived)
    def create_thing(request, payload: ThingIn): ...     # the function name is the operationId

400 (when it takes input), 401 (unless `auth=None`: then `security: []`), 404 (when its path has an
id), 409 idempotency_error and the Idempotency-Key header (POST) and 429 are added to every operation
that can give them; `raises` only lists what is particular to the route.
"""

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Annotated, Any

from ninja import NinjaAPI, Schema
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.operation import Operation
from ninja.schema import DjangoGetter, NinjaGenerateJsonSchema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    model_validator,
)

from kameng.errors import Error, ErrorKind

from .errors import STATUS

# ---- field types -------------------------------------------------------------------------------


def enum_of(*values: Any) -> WithJsonSchema:
    """A closed set of strings, for the document (the handler or service still checks the value and
    answers its own error code). Pass values or TextChoices/StrEnum classes."""
    flat: list[str] = []
    for value in values:
        members = list(value) if isinstance(value, type) and issubclass(value, Enum) else [value]
        flat.extend(str(m.value if isinstance(m, Enum) else m) for m in members)
    return WithJsonSchema({"type": "string", "enum": list(dict.fromkeys(flat))})


def _open_schema(schema: dict, cls: Any) -> None:
    # extra="forbid" keeps each answer and its schema in step (an undeclared field is a 500 in the
    # tests), but the document promises no closed objects: clients must accept added fields.
    schema.pop("additionalProperties", None)


class Out(Schema):
    """Base of every answer schema: every field the handler returns must be declared."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_open_schema)

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler, info: ValidationInfo) -> Any:
        # Replaces ninja's validator of the same name. For an extra="forbid" schema ninja validates the
        # value twice, as given (the forbid check) and through its DjangoGetter (attributes, resolvers,
        # managers, files), and each nested answer schema doubles again: a case page's CaseOut was
        # 14 validations, 21% of the profiled request. A dict must pass the first pass as it is, and
        # without resolvers the getter reads the same keys (no answer field takes Any: a value the getter
        # would call fails the first pass, one it would list gives the same list): it is validated
        # once, same checks, same errors. Objects and schemas with resolvers take ninja's two passes.
        if isinstance(values, dict) and not cls._ninja_resolvers:
            return handler(values)
        handler(values)
        return handler(DjangoGetter(values, cls, info.context))


Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Fen = Annotated[int, WithJsonSchema({"type": "integer", "description": "An amount in fen (分)"})]
Currency = Annotated[str, enum_of("CNY")]
# Input: an amount in fen, strict ("100", true and 1e3 are refused with 400).
Amount = Annotated[
    StrictInt, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 10**12, "description": "fen (分)"})
]
# Input: a strict integer (not "2", true or 2.0).
Integer = StrictInt


def ascii_id(value: str) -> str:
    """Ids are ASCII digits. Anything else ("１", " 1", "1_0", which int() would accept) names no object:
    it becomes "0", which the lookup answers with its own 404."""
    return value if value.isascii() and value.isdigit() and len(value) <= 18 else "0"


def _query_int(value: Any) -> Any:
    """A query integer is ASCII digits, maybe with a minus sign: not " 7", "1.0", "1_000" or "２０"."""
    if isinstance(value, str) and not (value.isascii() and value.removeprefix("-").isdigit()):
        raise ValueError("must be an integer")
    return value


ID_SCHEMA = WithJsonSchema({"type": "string", "pattern": "^[0-9]+$"})
Id = Annotated[str, ID_SCHEMA]  # in answers
# An id in a path or a body: "no such object" (404) unless it is ASCII digits.
PathId = Annotated[str, AfterValidator(ascii_id), ID_SCHEMA]
IdIn = PathId
QueryInt = Annotated[int, BeforeValidator(_query_int)]
# List parameters: the bounds are checked by `paginate` (400 invalid_limit / invalid_cursor).
Limit = Annotated[
    int,
    BeforeValidator(_query_int),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 100}),
]
Cursor = Annotated[
    str | None,
    WithJsonSchema({"type": "string", "pattern": "^[0-9]+$", "description": "The last id of the previous page"}),
]


class Page[T](Out):
    """A list answer: newest first; `has_more` says whether `starting_after=<last id>` gives more."""

    data: list[T]
    has_more: bool


_pages: dict[type, type] = {}


def page_of(item: type, name: str | None = None, **extra: Any) -> Any:
    """The page schema for `item` (`OrderOut` → `OrderPage`); `extra` adds fields beside data/has_more."""
    if item not in _pages or extra:
        page_name = name or f"{item.__name__.removesuffix('Out')}Page"
        _pages[item] = create_model(page_name, __base__=Page[item], **extra)  # type: ignore[valid-type]
    return _pages[item]


# ---- the Error object ----------------------------------------------------------------------------


class ErrorDetail(Out):
    type: Annotated[str, enum_of(ErrorKind)]
    code: str
    message: str
    param: str | None
    request_id: str


ErrorOut = create_model("Error", __base__=Out, error=(ErrorDetail, ...))


def raises(*errors: Error) -> Callable[[Callable], Callable]:
    """Declares the domain errors a route can answer: the document lists them under their status."""

    def mark(func: Callable) -> Callable:
        func.__kameng_raises__ = (*getattr(func, "__kameng_raises__", ()), *errors)  # type: ignore[attr-defined]
        return func

    return mark


def download(media_type: str, description: str, status: int = 200) -> dict:
    """`openapi_extra` for a route that answers bytes, not JSON."""
    schema = {"type": "string", "format": "binary"}
    return {"responses": {status: {"description": description, "content": {media_type: {"schema": schema}}}}}


# ---- the document --------------------------------------------------------------------------------

TAGS = [
    ("accounts", "Registration, tokens and the caller's account"),
    ("catalog", "Shops, listings and their stock"),
    ("wallet", "The wallet, top-ups and withdrawals"),
    ("payments", "Payment gateways' notifications (gateways call them) and 补单 rechecks (admins)"),
    ("orders", "Purchases, delivery, confirmation, the order chat and the export"),
    ("test clock", "Moves the platform clock (only with KAMENG_TEST_CLOCK=1; 404 otherwise)"),
    ("refunds", "Refund cases: opening, the parties' and the arbitrator's actions, evidence"),
    ("evidence", "The arbitrator's evidence assist and image previews"),
    ("complaints", "Complaint packages for 12315, arbitration and the police"),
    ("trust", "Published policies and statistics, shop credit, reviews and sanctions"),
    ("audit", "The audit log (admins)"),
    ("integrations", "Merchants' notification channels and signed webhooks"),
]

HEADERS = {
    "Request-Id": {
        "description": "This answer's id (the client's X-Request-Id when it sent a sane one); also in "
        "every error's `request_id` and in the access log",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored first answer to a repeated Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}},
}

IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Makes the POST safe to retry: a repeat with the same key and body answers the first "
    "answer again without acting again (keys are kept at least 24 h)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

# What each status means when an operation answers it; its codes follow in the description.
STATUS_MEANING = {
    400: "Invalid input (`param` names the field)",
    401: "No, a bad or an expired token",
    402: "Not enough money in the wallet",
    403: "The caller may not do this",
    404: "No such object, or one the caller may not see",
    409: "The object's state does not allow this (`code` says why)",
    413: "Too large",
    415: "Content type not allowed",
    429: "Too many requests (see Retry-After)",
}


class ContractSchema(OpenAPISchema):
    """ninja's document, completed with what the contract promises about every operation."""

    def __init__(self, api: NinjaAPI, path_prefix: str) -> None:
        super().__init__(api, path_prefix)
        self["servers"] = [{"url": "/"}]
        self["tags"] = [{"name": name, "description": text} for name, text in TAGS]
        components = self["components"]
        components["headers"] = HEADERS
        components["parameters"] = {"IdempotencyKey": IDEMPOTENCY_KEY}
        components["securitySchemes"] = {"BearerAuth": {"type": "http", "scheme": "bearer"}}
        error_schema = ErrorOut.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema)
        components["schemas"].update(error_schema.pop("$defs", {}))
        components["schemas"]["Error"] = error_schema

    def methods(self, operations: list) -> dict:
        """One operationId per method: a handler serving GET and POST is `<name>` for POST (or its only
        method) and `<name>_<method>` for the others (ids must be unique)."""
        result = {}
        for operation in operations:
            if not operation.include_in_schema:
                continue
            main = "POST" if "POST" in operation.methods else operation.methods[0]
            for method in operation.methods:
                details = self.operation_details(operation, method)
                self.all_operation_ids.discard(details["operationId"])  # ninja warns about a repeat
                if method != main:
                    details["operationId"] = f"{details['operationId']}_{method.lower()}"
                result[method.lower()] = details
        return result

    def operation_details(self, operation: Operation, method: str = "") -> dict:
        result = super().operation_details(operation)
        public = not operation.auth_callbacks
        post = (method or operation.methods[0]) == "POST"
        if public:
            result["security"] = []
        else:
            result["security"] = [{"BearerAuth": []}]
        if post:
            result["parameters"] = [{"$ref": "#/components/parameters/IdempotencyKey"}, *result["parameters"]]
        _optional_body_without_null(result)
        responses = result["responses"]
        for answer in responses.values():
            headers = {"Request-Id": {"$ref": "#/components/headers/Request-Id"}}
            if post:
                headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
            answer.setdefault("headers", {}).update(headers)
        for status, errors in _errors_of(operation, result, public=public, post=post).items():
            responses[status] = _error_answer(status, errors)
        return result


def _optional_body_without_null(details: dict) -> None:
    """A body that may be left out is `required: false`, not a schema that allows JSON null: generated
    clients (openapi-python-client) would otherwise send their "unset" marker."""
    for body in details.get("requestBody", {}).get("content", {}).values():
        variants = body["schema"].get("anyOf", [])
        if len(variants) == 2 and {"type": "null"} in variants:
            body["schema"] = next(v for v in variants if v != {"type": "null"})


def _errors_of(operation: Operation, details: dict, *, public: bool, post: bool) -> dict[int, list[Error]]:
    """The errors an operation can answer, by status: the route's own plus the conventions'."""
    errors: list[Error] = list(getattr(operation.view_func, "__kameng_raises__", ()))
    if details["parameters"] or "requestBody" in details:
        errors.append(Error.REQUEST_INVALID)
    if not public:
        errors.append(Error.TOKEN_REQUIRED)
    if "{" in operation.path:
        errors.append(Error.NOT_FOUND)
    if post:
        errors.append(Error.IDEMPOTENCY_KEY_REUSED)
    errors.append(Error.TOO_MANY_REQUESTS)
    by_status: dict[int, list[Error]] = {}
    for error in errors:
        by_status.setdefault(STATUS[error.kind], []).append(error)
    return dict(sorted(by_status.items()))


def _error_answer(status: int, errors: Iterable[Error]) -> dict:
    codes = ", ".join(f"`{code}`" for code in dict.fromkeys(e.code for e in errors))
    headers: dict[str, Any] = {"Request-Id": {"$ref": "#/components/headers/Request-Id"}}
    if status == 429:
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return {
        "description": f"{STATUS_MEANING.get(status, 'Error')}: {codes}",
        "headers": headers,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


class ContractAPI(NinjaAPI):
    """NinjaAPI whose document is the contract's (ContractSchema) and whose operationIds are the
    handlers' names (`create_order`), stable and short."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None) -> Any:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ContractSchema(self, path_prefix)

    def get_openapi_operation_id(self, operation: Operation) -> str:
        return operation.view_func.__name__
