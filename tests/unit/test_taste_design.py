"""The design rules and the size of a change in product code, on small hand-made changes.

Each rule with a shape that fires and one that does not. The repository around the change
(``TasteInput.sources``) is given as a mapping, as :func:`pytest_proofswe.taste.repo.sources`
reads it.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from pytest_proofswe.taste import TasteConfig, TasteInput, grade_taste
from tests.unit.test_taste_rules import code, diff_of

DEFAULTS = TasteConfig()


def graded(
    tmp_path: Path, files: dict[str, tuple[str | None, str | None]], sources: dict[str, str] | None = None
) -> list[tuple[str, str, int | None, str]]:
    data = diff_of(tmp_path, files)
    if sources is not None:
        data = dataclasses.replace(data, sources=sources)
    return sorted((f.rule, f.path, f.line, f.message) for f in grade_taste(data, DEFAULTS).findings)


def rules(found: list[tuple[str, str, int | None, str]]) -> list[str]:
    return [rule for rule, *_ in found]


ORDERS = code("""
    def total(order):
        return sum(line.price for line in order.lines)
""")


def orders_with(added: str) -> str:
    """The orders module with ``added`` after two blank lines."""
    return ORDERS + "\n\n" + code(added)


# -- design-single-use ------------------------------------------------------------------------


def test_a_new_function_called_from_one_place_is_a_single_use(tmp_path: Path) -> None:
    head = orders_with("""
        class TotalFormatter:
            def format(self, order):
                return f"{total(order):.2f}"


        def receipt(order):
            return "Total: " + TotalFormatter().format(order)
    """)
    views = "from shop.orders import receipt\n\nreceipt(a)\nreceipt(b)\n"
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, head)}, {"shop/views.py": views})
    single = [(line, message) for rule, _p, line, message in found if rule == "design-single-use"]
    assert single == [
        (
            5,
            "new class TotalFormatter is called from one place only (shop/orders.py:11): an abstraction with a single use",
        )
    ]


def test_a_function_used_twice_registered_exported_or_private_is_no_single_use(tmp_path: Path) -> None:
    """A private helper called once is a piece of its caller given a name, not an abstraction."""
    head = orders_with("""
        def _format_total(order):
            return f"{total(order):.2f}"


        def receipt(order):
            return "Total: " + _format_total(order)


        def invoice(order):
            return "Due: " + _format_total(order)


        @app.route("/total")
        def total_view(order):
            return _format_total(order)


        def export_total(order):
            return total(order)
    """)
    views = "from shop.orders import receipt, invoice\n\nreceipt(a)\nreceipt(b)\ninvoice(a)\ninvoice(b)\n"
    init = "from .orders import export_total\n"
    found = graded(
        tmp_path,
        {"shop/orders.py": (ORDERS, head)},
        {"shop/views.py": views, "shop/__init__.py": init, "shop/cli.py": "export_total(order)\n"},
    )
    assert "design-single-use" not in rules(found)


# -- design-pass-through ----------------------------------------------------------------------


def test_a_function_that_only_passes_its_arguments_on_is_a_pass_through(tmp_path: Path) -> None:
    head = orders_with("""
        def order_total(order):
            return total(order)


        class Basket:
            def __init__(self, client):
                self.client = client

            async def fetch(self, basket_id, *, timeout=None):
                return await self.client.get(basket_id, timeout=timeout)
    """)
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, head)})
    passes = [(line, message) for rule, _p, line, message in found if rule == "design-pass-through"]
    assert passes == [
        (5, "new function order_total only passes its arguments on to total()"),
        (13, "new method Basket.fetch only passes its arguments on to self.client.get()"),
    ]


def test_a_function_that_adds_something_is_no_pass_through(tmp_path: Path) -> None:
    head = orders_with("""
        def order_total(order):
            return total(order) * 1.2


        def rounded_total(order, digits):
            return round(total(order), digits)


        def first_total(order, other):
            return total(other, order)


        def close():
            return total(None)


        @property
        def cached(order):
            return total(order)
    """)
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, head)})
    assert "design-pass-through" not in rules(found)


# -- design-unused-parameter ------------------------------------------------------------------


def test_a_new_parameter_never_read_is_unused(tmp_path: Path) -> None:
    """libcst's scopes: a name a comprehension or a nested function binds again is not the parameter."""
    head = code("""
        def total(order, currency, discount=0):
            return sum(line.price for line in order.lines)


        def tax(order, rate, region):
            rates = [rate for rate in order.rates]

            def inner(region):
                return region

            return inner(rates)
    """)
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, head)})
    unused = [(line, message) for rule, _p, line, message in found if rule == "design-unused-parameter"]
    assert unused == [
        (1, "total: new parameter currency is never used"),
        (1, "total: new parameter discount is never used"),
        (5, "tax: new parameter rate is never used"),
        (5, "tax: new parameter region is never used"),
    ]


def test_parameters_read_stubs_overrides_and_callbacks_are_not_unused(tmp_path: Path) -> None:
    head = code("""
        def total(order, currency):
            def convert(x):
                return x * currency.rate

            return convert(sum(line.price for line in order.lines))


        def hook(order, event):
            ...


        class Handler(BaseHandler):
            def handle(self, order, context):
                return order


        def on_done(order, future):
            return order


        def _ignored(order, _unused):
            return order
    """)
    found = graded(
        tmp_path, {"shop/orders.py": (ORDERS, head)}, {"shop/run.py": "pool.submit(x).add_done_callback(on_done)\n"}
    )
    assert "design-unused-parameter" not in rules(found)


def test_an_existing_parameter_left_unused_is_not_the_change(tmp_path: Path) -> None:
    base = "def total(order, currency):\n    return 0\n"
    head = "def total(order, currency, lines):\n    return len(lines)\n"
    assert "design-unused-parameter" not in rules(graded(tmp_path, {"shop/orders.py": (base, head)}))


# -- design-unreferenced ----------------------------------------------------------------------


def test_a_new_private_name_nothing_references_is_unreferenced(tmp_path: Path) -> None:
    head = orders_with("""
        _CURRENCY = "EUR"


        def _legacy_total(order):
            return 0


        class Cart:
            def _recount(self):
                return 0
    """)
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, head)}, {"shop/views.py": "from shop.orders import Cart\n"})
    dead = [(line, message) for rule, _p, line, message in found if rule == "design-unreferenced"]
    assert dead == [
        (5, "new constant _CURRENCY is never referenced in the repository"),
        (8, "new function _legacy_total is never referenced in the repository"),
        (13, "new method Cart._recount is never referenced in the repository"),
    ]


def test_a_private_name_used_elsewhere_or_a_hook_is_referenced(tmp_path: Path) -> None:
    head = orders_with("""
        _CURRENCY = "EUR"


        def _legacy_total(order):
            return 0


        class Model(BaseModel):
            def _validate(self):
                return _CURRENCY
    """)
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, head)}, {"shop/old.py": "from .orders import _legacy_total\n"})
    assert "design-unreferenced" not in rules(found)


# -- design-duplicate-code --------------------------------------------------------------------

PRICING = code("""
    def price(item, customer):
        base = item.list_price * item.quantity
        if customer.is_member and item.category in customer.member_categories:
            base = base - base * customer.member_discount_rate
        if item.on_sale and item.sale_price is not None:
            base = min(base, item.sale_price * item.quantity)
        shipping = item.weight_kg * customer.region.shipping_rate_per_kg
        return round(base + shipping, 2)
""")


def test_added_lines_repeating_the_repository_are_a_duplicate(tmp_path: Path) -> None:
    quote = PRICING.replace("def price(item, customer):", "def quote(item, customer):")
    found = graded(tmp_path, {"shop/quotes.py": (None, quote)}, {"shop/pricing.py": PRICING})
    dupes = [(p, line, message) for rule, p, line, message in found if rule == "design-duplicate-code"]
    assert dupes == [("shop/quotes.py", 2, "7 added lines repeat shop/pricing.py:2")]


def test_code_moved_or_written_anew_is_no_duplicate(tmp_path: Path) -> None:
    # Moved from pricing.py to quotes.py: after the change the repository holds one copy.
    moved = graded(tmp_path / "moved", {"shop/pricing.py": (PRICING, ""), "shop/quotes.py": (None, PRICING)})
    assert "design-duplicate-code" not in rules(moved)
    other = code("""
        def quote(item, customer):
            base = item.list_price * item.quantity * customer.factor
            if customer.is_member:
                base = base * 0.9
            return round(base, 2)
    """)
    fresh = graded(tmp_path / "fresh", {"shop/quotes.py": (None, other)}, {"shop/pricing.py": PRICING})
    assert "design-duplicate-code" not in rules(fresh)


PORT = code("""
    class JobStore(Protocol):
        async def enqueue(
            self,
            entrypoint: str,
            payload: bytes | None,
            priority: int = 0,
            execute_after: timedelta | None = None,
            dedupe_key: str | None = None,
            headers: dict[str, str] | None = None,
        ) -> list[JobId]: ...
""")


def test_an_implementation_repeating_its_interface_s_signatures_is_no_duplicate(tmp_path: Path) -> None:
    """The shape seen in janbjorge/pgqueuer: an adapter's methods have the signatures of the port they implement."""
    adapter = code("""
        class MemoryStore:
            async def enqueue(
                self,
                entrypoint: str,
                payload: bytes | None,
                priority: int = 0,
                execute_after: timedelta | None = None,
                dedupe_key: str | None = None,
                headers: dict[str, str] | None = None,
            ) -> list[JobId]:
                return self.jobs.add(entrypoint, payload, priority, execute_after, dedupe_key, headers)
    """)
    found = graded(tmp_path, {"queue/memory.py": (None, adapter)}, {"queue/ports.py": PORT})
    assert "design-duplicate-code" not in rules(found)


# -- api-name-removed and api-signature-changed: relative imports -----------------------------


def test_a_removed_name_imported_relatively_is_still_referenced(tmp_path: Path) -> None:
    base = "def parse(text):\n    return text\n\n\ndef dump(value):\n    return value\n"
    head = "def dump(value):\n    return value\n"
    used = graded(tmp_path / "a", {"pkg/codec.py": (base, head)}, {"pkg/io.py": "from .codec import parse\n"})
    assert [(r, p, m) for r, p, _l, m in used if r == "api-name-removed"] == [
        ("api-name-removed", "pkg/codec.py", "public name parse removed: pkg/io.py:1 still imports it")
    ]
    # Another module's parse is not this one's.
    other = graded(tmp_path / "b", {"pkg/codec.py": (base, head)}, {"pkg/io.py": "from .json import parse\n"})
    assert "api-name-removed" not in rules(other)


# -- tests ------------------------------------------------------------------------------------

TEST_ORDERS = "from shop.orders import total\n\n\ndef test_total():\n    assert total(None) == 0\n"


def test_a_test_file_deleted_with_the_code_it_tested_costs_nothing(tmp_path: Path) -> None:
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, ""), "tests/test_orders.py": (TEST_ORDERS, None)})
    deleted = [(p, m) for r, p, _l, m in found if r == "tests-deleted"]
    assert deleted == [
        ("tests/test_orders.py", "test file deleted with the code it tested (total from shop/orders.py)")
    ]
    result = grade_taste(diff_of(tmp_path / "again", {"tests/test_orders.py": (TEST_ORDERS, None)}), DEFAULTS)
    assert [(f.rule, f.penalty) for f in result.findings] == [("tests-deleted", 8.0)]
    assert [
        f.penalty
        for f in grade_taste(
            diff_of(tmp_path / "b", {"shop/orders.py": (ORDERS, ""), "tests/test_orders.py": (TEST_ORDERS, None)}),
            DEFAULTS,
        ).findings
        if f.rule == "tests-deleted"
    ] == [0.0]


def test_a_change_of_product_code_with_tests_earns_the_credit(tmp_path: Path) -> None:
    head = ORDERS.replace("line.price", "line.price * line.quantity")
    test = TEST_ORDERS + "\n\ndef test_quantity():\n    assert total(None) == 0\n"
    result = grade_taste(
        diff_of(tmp_path, {"shop/orders.py": (ORDERS, head), "tests/test_orders.py": (TEST_ORDERS, test)}), DEFAULTS
    )
    assert [(f.rule, f.path, f.penalty) for f in result.findings] == [("tests-added", "tests/test_orders.py", -8.0)]
    # Tests alone (no product change) and product code alone earn nothing.
    alone = grade_taste(diff_of(tmp_path / "t", {"tests/test_orders.py": (TEST_ORDERS, test)}), DEFAULTS)
    assert alone.findings == ()
    fix = grade_taste(diff_of(tmp_path / "p", {"shop/orders.py": (ORDERS, head)}), DEFAULTS)
    assert fix.findings == () and fix.score == 100


def test_a_skip_or_a_rewritten_assert_earns_no_credit(tmp_path: Path) -> None:
    """The smelly example submission's shape: its test edits only weaken (a skip, an assert made weaker)."""
    head = ORDERS.replace("line.price", "line.price * line.quantity")
    weaker = TEST_ORDERS.replace("def test_total", '@pytest.mark.skip(reason="flaky")\ndef test_total').replace(
        "== 0", ">= 0"
    )
    found = graded(tmp_path, {"shop/orders.py": (ORDERS, head), "tests/test_orders.py": (TEST_ORDERS, weaker)})
    assert "tests-added" not in rules(found)
    assert {"tests-skip-added", "tests-assert-removed"} <= set(rules(found))


def test_a_new_complex_test_function_is_never_a_cost(tmp_path: Path) -> None:
    branches = "".join(f"    if case == {i}:\n        assert run({i})\n" for i in range(12))
    test = f"def test_cases(case):\n{branches}"
    found = graded(tmp_path, {"tests/test_cases.py": (None, test), "src/cases.py": (None, test.replace("test_", ""))})
    assert [(r, p) for r, p, _l, _m in found if r.startswith("complexity")] == [
        ("complexity-new-complex-function", "src/cases.py")
    ]


# -- size in product code, and new modules ----------------------------------------------------


def test_lines_of_product_code_cost_beyond_the_first_ten(tmp_path: Path) -> None:
    def module(n: int) -> str:
        return "".join(f"RATE_{i} = {i}\n" for i in range(n))

    small = grade_taste(diff_of(tmp_path / "s", {"shop/rates.py": (module(1), module(11))}), DEFAULTS)
    assert small.findings == ()
    larger = grade_taste(
        diff_of(tmp_path / "l", {"shop/rates.py": (module(1), module(31)), "tests/test_rates.py": (None, module(50))}),
        DEFAULTS,
    )
    (size,) = [f for f in larger.findings if f.rule == "scope-code-lines"]
    assert size.penalty == 3.0
    assert size.message == "30 lines of product code changed, 20 beyond the first 10 (not counted: 1 tests)"
    huge = grade_taste(diff_of(tmp_path / "h", {"shop/rates.py": (module(1), module(1000))}), DEFAULTS)
    assert [f.penalty for f in huge.findings if f.rule == "scope-code-lines"] == [40.0]


def test_with_a_reference_solution_its_own_lines_are_free(tmp_path: Path) -> None:
    def module(n: int) -> str:
        return "".join(f"RATE_{i} = {i}\n" for i in range(n))

    data = diff_of(tmp_path, {"shop/rates.py": (module(1), module(31))})
    gold = "diff --git a/shop/rates.py b/shop/rates.py\n--- a/shop/rates.py\n+++ b/shop/rates.py\n@@ -1 +1,25 @@\n"
    gold += "".join(f"+RATE_{i} = {i}\n" for i in range(25))
    with_gold = dataclasses.replace(data, gold_paths=frozenset({"shop/rates.py"}), gold_text=gold)
    (size,) = [f for f in grade_taste(with_gold, DEFAULTS).findings if f.rule == "scope-code-lines"]
    assert size.penalty == 0.75 and "5 beyond the reference solution's" in size.message


def test_a_new_module_of_product_code(tmp_path: Path) -> None:
    found = graded(
        tmp_path,
        {
            "shop/export/__init__.py": (None, "from .csv import write\n"),
            "shop/export/csv.py": (None, "def write(rows):\n    return rows\n"),
            "tests/test_export.py": (None, "def test_write():\n    assert True\n"),
            "alembic/versions/0001_export.py": (None, "def upgrade():\n    pass\n"),
            "scripts/export.py": (None, "def main():\n    pass\n"),
        },
    )
    assert [(p, m) for r, p, _l, m in found if r == "structure-new-module"] == [
        ("shop/export/csv.py", "new module shop.export.csv")
    ]


# -- the repository, as the grade reads it ----------------------------------------------------


def test_the_repository_sources_are_its_python_and_configuration_files(tmp_path: Path) -> None:
    from pytest_proofswe.taste.repo import sources

    files = {
        "pkg/a.py": "A = 1\n",
        "pyproject.toml": "[project.scripts]\nx = 'pkg.a:main'\n",
        "docs/guide.md": "# guide\n",
        ".venv/lib/site.py": "x = 1\n",
        "node_modules/m/index.py": "x = 1\n",
        "big.py": "x = 1\n" * 200_000,
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = sources(tmp_path)
    assert dict(found) == {"pkg/a.py": "A = 1\n", "pyproject.toml": files["pyproject.toml"]}


def test_the_diff_mode_grade_searches_the_whole_repository(tmp_path: Path) -> None:
    """``pytest --proofswe-diff``'s grade: a name removed while an unchanged module still imports it."""
    from pytest_proofswe.modes.diffmode import collect_change, grade_change
    from tests.conftest import make_git_repo

    repo = tmp_path / "repo"
    make_git_repo(
        repo,
        {
            "pkg/__init__.py": "",
            "pkg/codec.py": "def parse(t):\n    return t\n\n\ndef dump(v):\n    return v\n",
            "pkg/io.py": "from pkg.codec import parse\n",
        },
    )
    (repo / "pkg" / "codec.py").write_text("def dump(v):\n    return v\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "checkout", "-qb", "change"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qam", "drop parse"], cwd=repo, check=True)
    result = grade_change(collect_change(repo, "main"), TasteConfig(), None, "default", rootdir=repo)
    removed = [f for f in result["taste"]["findings"] if f["rule"] == "api-name-removed"]
    assert [(f["path"], f["message"]) for f in removed] == [
        ("pkg/codec.py", "public name parse removed: pkg/io.py:1 still imports it")
    ]


def test_inputs_without_a_repository_still_grade(tmp_path: Path) -> None:
    data = TasteInput(
        files=diff_of(tmp_path, {"shop/orders.py": (ORDERS, ORDERS + "\n\ndef _x(a):\n    return 1\n")}).files
    )
    found = sorted(f.rule for f in grade_taste(data, DEFAULTS).findings)
    assert found == ["design-unreferenced", "design-unused-parameter"]
