"""Self-checks for notebook 10 (benefits, drawbacks and deleting data · 데이터 삭제)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed

NEW_CUSTOMERS: tuple[tuple[str, str, str, str], ...] = (
    ("Park Eun-ji", "eunji.park@example.kr", "9 Jongno-gil", "Seoul"),
    ("Ravi Menon", "ravi.menon@example.in", "14 MG Road", "Kochi"),
)
"""Exercise 1 registers these (name, e-mail, street, city) with the learner's function."""


def _digests(text: str) -> list[str]:
    import hashlib

    raw = text.strip().lower().encode()
    return [hashlib.new(n, raw).hexdigest() for n in ("md5", "sha1", "sha256")]


@never_raise
def exercise_1(register: Any) -> CheckResult:
    """``register(shredder, name, email, street, city) -> customer_id``: a new customer whose
    personal data can be forgotten completely — the stream id (the aggregate id) included."""
    from eslab.errors import EslabError
    from eslab.lessons.nb10_tradeoffs_and_deleting_data import Customer
    from eslab.shredding import FORGOTTEN, CryptoShredder, find_plaintext
    from eslab.store import EventStore

    if not callable(register):
        return hint("Define `register(shredder, name, email, street, city)` returning the id.")
    shop = EventStore()
    shredder = CryptoShredder(shop)
    ids = []
    for name, email, street, city in NEW_CUSTOMERS:
        try:
            customer_id = register(shredder, name, email, street, city)
        except EslabError as exc:
            return hint(f"Registering {name!r} was refused: {exc}")
        if not isinstance(customer_id, str) or not customer_id:
            return hint("`register` must return the new customer's id (a non-empty str).")
        ids.append(customer_id)
    if len(set(ids)) != len(ids):
        return hint("Two customers got the same id: every customer needs an id of its own.")
    for (name, email, _, _), customer_id in zip(NEW_CUSTOMERS, ids, strict=True):
        stored = shredder.load("Customer", customer_id)
        if not stored or Customer.replay([s.event for s in stored]).name != name:
            return hint(
                f"No Customer stream {customer_id!r} that replays as {name!r}: append a "
                "CustomerRegistered with shredder.append(shredder.store, 'Customer', id, "
                "[...], 0) so its personal fields are encrypted."
            )
        local = email.split("@")[0]
        telling = [email, local, name, *name.lower().split(), *_digests(email)]
        if any(t.lower() in customer_id.lower() for t in telling if len(t) >= 3):
            return hint(
                f"The id {customer_id!r} is made from personal data (the name or the e-mail, "
                "maybe hashed). Stream ids are never encrypted and can never be deleted: "
                "use a meaningless id (a pseudonym), e.g. from uuid4()."
            )
    first = NEW_CUSTOMERS[0]
    shredder.forget(ids[0])
    left = find_plaintext(shop, [first[0], first[1], first[2]])
    if not left.empty:
        where = ", ".join(sorted(set(left["table"] + "." + left["column"])))
        return hint(f"After forgetting, plaintext remains in {where}: encrypt personal fields.")
    gone = Customer.replay([s.event for s in shredder.load("Customer", ids[0])])
    if gone.name != FORGOTTEN:
        return hint("After forgetting, the customer's name should read as forgotten.")
    return passed(
        "Right: the stream id is a pseudonym, the personal fields are encrypted, and after "
        "forgetting not a byte of the customer is readable — while the events still replay."
    )


@never_raise
def exercise_2(fixed: Any) -> CheckResult:
    """``fixed``: CustomerCities with the moves handled and its version bumped, so a projector
    on an existing read model rebuilds it and every customer shows the city they live in now."""
    from eslab.lessons.nb10_tradeoffs_and_deleting_data import (
        DEMO_CUSTOMERS,
        DEMO_MOVES,
        CustomerCities,
        register_demo_customers,
    )
    from eslab.projections import Projection, Projector
    from eslab.shredding import CryptoShredder
    from eslab.store import EventStore

    if not (isinstance(fixed, type) and issubclass(fixed, Projection)):
        return hint("Hand in the class itself (CustomerCitiesV2), a subclass of CustomerCities.")
    if fixed.name != CustomerCities.name or fixed.tables != CustomerCities.tables:
        return hint("Keep the read model's name and tables: only the handlers and version change.")
    shop = EventStore()
    register_demo_customers(CryptoShredder(shop))
    Projector(shop, CustomerCities()).catch_up()  # the buggy read model, up to date
    projector = Projector(shop, fixed())
    projector.catch_up()
    rows = dict(projector.read_model().itertuples(index=False, name=None))
    truth = {c[0]: c[4] for c in DEMO_CUSTOMERS} | {c: city for c, _, city in DEMO_MOVES}
    if rows == truth:
        if projector.rebuild_reason is None:
            return hint("The rows are right, but the projector did not rebuild: bump `version`.")
        return passed(
            f"Right: version {fixed.version} made the projector rebuild the read model from "
            "position 0 — the moves are in it now, without a migration script."
        )
    if fixed.version <= CustomerCities.version:
        return hint(
            "The read model was already caught up, so new handlers never see the old events. "
            "Bump `version`: the projector then drops the tables and rebuilds from zero."
        )
    return hint(
        "Rebuilt, but some cities are still old: handle CustomerAddressChanged too (an Upsert "
        "of the new city)."
    )
