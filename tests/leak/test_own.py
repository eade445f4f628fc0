"""What the leak watch leaves out as memwarden's own, and what it must not: the applications
that ship inside the package (the demo's service, the examples) are named like any other."""

from __future__ import annotations

import os

from memwarden.leak.own import PACKAGE_DIR, is_own_file, is_own_module


def test_memwarden_itself_is_left_out() -> None:
    for name in ("memwarden", "memwarden.leak.census", "memwarden.web.wsgi"):
        assert is_own_module(name), name
    assert is_own_file(os.path.join(PACKAGE_DIR, "web", "wsgi.py"))


def test_the_applications_it_ships_are_not() -> None:
    for name in ("memwarden.demo.app", "memwarden.demo", "memwarden.examples",
                 "memwarden.examples.leaky_app",
                 "myapp.sync", "memwardenx"):
        assert not is_own_module(name), name
    assert not is_own_file(os.path.join(PACKAGE_DIR, "demo", "app.py"))
    assert not is_own_file(os.path.join(PACKAGE_DIR, "examples", "counter_server.py"))

