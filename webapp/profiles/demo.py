"""A realistic demo database for a first look: customers with interests and a collection of orders."""

import random
from datetime import date, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Database, Profile
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

FIRST_NAMES = [
    "Anna",
    "Bram",
    "Daan",
    "Emma",
    "Fleur",
    "Lars",
    "Lotte",
    "Noah",
    "Sanne",
    "Sem",
    "Julia",
    "Finn",
    "Tess",
    "Luuk",
    "Mila",
    "Jesse",
    "Zoë",
    "Thijs",
    "Eva",
    "Ruben",
]
LAST_NAMES = [
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "de Boer",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
]
CITIES = [
    ("Amsterdam", "NL"),
    ("Rotterdam", "NL"),
    ("Utrecht", "NL"),
    ("Gent", "BE"),
    ("Antwerpen", "BE"),
    ("Köln", "DE"),
    ("Eindhoven", "NL"),
    ("Groningen", "NL"),
]
PRODUCTS = [
    ("Walking shoes", 89.95),
    ("Leather bag", 129.0),
    ("Rain jacket", 74.5),
    ("Wool socks", 12.99),
    ("Backpack", 59.0),
]
ORIGIN = Origin("system", actor="demo")

CUSTOMER_FIELDS = [
    FieldSpec("Email", "email", indexed=True, unique=True),
    FieldSpec("FirstName", "text", indexed=True),
    FieldSpec("LastName", "text", indexed=True),
    FieldSpec("City", "text"),
    FieldSpec("Country", "country", shown=False),
    FieldSpec("Phone", "phone", shown=False),
    FieldSpec("Birthday", "date", shown=False),
    FieldSpec("Newsletter", "choice", options={"choices": ["yes", "no"]}, default="no"),
]
ORDER_FIELDS = [
    FieldSpec("OrderNumber", "text"),
    FieldSpec("OrderDate", "date"),
    FieldSpec("Product", "text"),
    FieldSpec("Total", "decimal"),
]


def create_demo_database(account: Account, *, count: int = 3000, seed: int = 7) -> Database:
    database = databases.create_database(account, _free_name(account), "Demo customers with their orders.")
    for spec in CUSTOMER_FIELDS:
        create_field(account, spec, database_id=database.id)
    for name, group in (("Weekly", "Newsletter"), ("Offers", "Newsletter"), ("Shoes", "Topics"), ("Bags", "Topics")):
        databases.create_interest(account, database.id, name, group)
    orders = databases.create_collection(account, database.id, "Orders")
    for spec in ORDER_FIELDS:
        create_field(account, spec, collection_id=orders.id)
    databases.set_unsubscribe_behaviour(
        account,
        database_id=database.id,
        behaviour="update",
        field_values={"Newsletter": "no"},
        interest_values={"Weekly": False},
    )
    rng = random.Random(seed)
    _add_customers(account, database, count, rng)
    _add_orders_and_interests(account, database, orders.id, rng)
    return database


def _free_name(account: Account) -> str:
    name, number = "Customers", 1
    while databases.find_database(account, name) is not None:
        number += 1
        name = f"Customers{number}"
    return name


def _add_customers(account: Account, database: Database, count: int, rng: random.Random) -> None:
    def rows():
        for number in range(1, count + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            city, country = rng.choice(CITIES)
            yield {
                "Email": f"{first}.{last.replace(' ', '')}.{number}@example.com".lower(),
                "FirstName": first,
                "LastName": last,
                "City": city,
                "Country": country,
                "Phone": f"+316{rng.randrange(10_000_000, 99_999_999)}" if rng.random() < 0.6 else None,
                "Birthday": (date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))).isoformat(),
                "Newsletter": "yes" if rng.random() < 0.55 else "no",
            }

    profiles.bulk_create_profiles(account, database.id, rows(), origin=ORIGIN)


def _add_orders_and_interests(account: Account, database: Database, collection_id: int, rng: random.Random) -> None:
    ids = list(db.session.scalars(select(Profile.id).where(Profile.database_id == database.id).limit(600)))
    for profile_id in ids:
        if rng.random() < 0.5:
            profiles.update_profile(
                account, profile_id, {}, origin=ORIGIN, interests={"Weekly": True, "Shoes": rng.random() < 0.5}
            )
        for _ in range(rng.choice((0, 1, 1, 2))):
            product, price = rng.choice(PRODUCTS)
            subprofiles.create_subprofile(
                account,
                profile_id,
                collection_id,
                {
                    "OrderNumber": f"V{rng.randrange(100000, 999999)}",
                    "OrderDate": (date(2026, 1, 1) + timedelta(days=rng.randrange(0, 320))).isoformat(),
                    "Product": product,
                    "Total": price,
                },
                origin=ORIGIN,
            )
