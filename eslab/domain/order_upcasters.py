"""The history of ``OrderCreated`` and the upcasters that bring it to today's v3.

FTGO's Order Service changed the event twice (the files in ``data/`` were written by
the old versions, see ``data/README.md``):

v1 (2019, first release; JSON written by Java/Jackson)::

    {"consumerId": "consumer-017", "restaurantId": "rest-ajanta",
     "lineItems": [{"menuItemId": "aj-01", "name": "Chicken Vindaloo",
                    "quantity": 3, "price": 12.95}],
     "orderTotal": 38.849999999999994,
     "deliveryAddress": "12 Oak St, Oakland 94611"}

    money as float dollars (no currency: USD was implied), camelCase names, the
    delivery address one string.

v2 (2020-09, "money in cents"): every amount becomes integer cents, ``price`` →
``priceCents``, ``orderTotal`` → ``totalCents`` (renamed), and ``currency`` appears::

    {..., "lineItems": [{..., "priceCents": 1295}], "totalCents": 3885,
     "currency": "USD", "deliveryAddress": "12 Oak St, Oakland 94611"}

v3 (2021-06, the Python rewrite — today's ``eslab.domain.order.OrderCreated``): snake_case
names, amounts as ``Money`` objects ``{"cents", "currency"}``, and the address split
into ``{"street", "city", "postcode"}``.

Each step is a plain function of the JSON data, registered with ``@upcaster``; loading
any old event runs v1 → v2 → v3 in order, so the Order aggregate only knows v3. The
stored rows are never changed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from eslab.upcasting import upcaster

V1_CURRENCY = "USD"
"""v1 stored no currency: FTGO only delivered in the US then."""


def dollars_to_cents(dollars: float) -> int:
    """Float dollars → integer cents, rounding half up (38.849999999999994 → 3885)."""
    cents = Decimal(repr(dollars)) * 100
    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split_address(address: str) -> dict[str, str]:
    """``"Apt 4, 12 Oak St, San Jose 95112"`` → street, city and postcode.

    The street is everything before the last comma; the postcode is the last word.
    """
    street, _, rest = address.rpartition(",")
    city, _, postcode = rest.strip().rpartition(" ")
    if not street or not city or not postcode:
        raise ValueError(f"cannot split the address {address!r} into street, city, postcode")
    return {"street": street.strip(), "city": city.strip(), "postcode": postcode}


@upcaster("OrderCreated", from_version=1)
def money_in_cents(data: dict[str, Any]) -> dict[str, Any]:
    """v1 → v2: float dollars become integer cents; ``orderTotal`` → ``totalCents``."""
    items = []
    for item in data["lineItems"]:
        item = dict(item)
        item["priceCents"] = dollars_to_cents(item.pop("price"))
        items.append(item)
    return {
        "consumerId": data["consumerId"],
        "restaurantId": data["restaurantId"],
        "lineItems": items,
        "totalCents": dollars_to_cents(data["orderTotal"]),
        "currency": V1_CURRENCY,
        "deliveryAddress": data["deliveryAddress"],
    }


@upcaster("OrderCreated", from_version=2)
def money_objects_and_address(data: dict[str, Any]) -> dict[str, Any]:
    """v2 → v3: snake_case names, ``Money`` objects and a structured address."""
    currency = data["currency"]
    return {
        "consumer_id": data["consumerId"],
        "restaurant_id": data["restaurantId"],
        "line_items": [
            {
                "menu_item_id": item["menuItemId"],
                "name": item["name"],
                "quantity": item["quantity"],
                "price": {"cents": item["priceCents"], "currency": currency},
            }
            for item in data["lineItems"]
        ],
        "total": {"cents": data["totalCents"], "currency": currency},
        "delivery_address": split_address(data["deliveryAddress"]),
    }
