"""Page-test helpers: a signed-in test client per user, and a small HTML tree to ask pages questions."""

from html.parser import HTMLParser

import pytest
from django.test import Client

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return "".join(parts)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class Doc(HTMLParser):
    """Just enough of a DOM: elements by id, by tag, their text and ancestors."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root
        self.raw = html
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)

    # queries
    def all(self, tag=None):
        return [n for n in self.root.iter() if tag is None or n.tag == tag]

    def by_id(self, element_id):
        return next((n for n in self.root.iter() if n.attrs.get("id") == element_id), None)

    def testid(self, value):
        return next((n for n in self.root.iter() if n.attrs.get("data-testid") == value), None)

    def text(self) -> str:
        return " ".join(self.root.text().split())

    def field_error(self, name: str) -> str:
        """The error text shown next to form field `name` (empty when none)."""
        node = self.by_id(f"id_{name}_error")
        return " ".join(node.text().split()) if node else ""

    def form_errors(self) -> str:
        return " ".join(" ".join(n.text().split()) for n in self.all() if "form-errors" in n.attrs.get("class", ""))


@pytest.fixture
def login_as(db):
    """A fresh Django test client signed in (session) as `user`."""

    def make(user, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def doc():
    def parse(response) -> Doc:
        return Doc(response.content.decode())

    return parse
