"""A small shop server for host tests: a read, a write that needs approval, and a flaky read.

`shop.order` keeps every order by its idempotency key, so a test can prove that a
write ran exactly once however often the host was asked to make it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mcp_servers.kit.context import CallContext
from mcp_servers.kit.errors import ErrorCategory, UpstreamUnavailable
from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec


class QuoteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(min_length=1, description="What to price.")


class QuoteOutput(BaseModel):
    item: str = Field(description="The item.")
    price: float = Field(description="Its unit price.")


class OrderInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(min_length=1, description="What to order.")
    quantity: int = Field(ge=1, le=10_000, description="How many.")
    net_price: float = Field(gt=0, description="Unit price.")
    idempotency_key: str = Field(min_length=8, description="Makes a retried order a no-op.")


class OrderOutput(BaseModel):
    order_number: str = Field(description="The created order's number.")
    created: bool = Field(description="False when the key had already ordered.")


class FlakyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(description="Which flaky counter to use.")


class Shop:
    def __init__(self) -> None:
        self.orders: dict[str, dict] = {}
        self.failures_left: dict[str, int] = {}
        self.calls: list[str] = []

    def build(self, settings: Settings) -> ToolServer:
        server = ToolServer("shop", settings, version="1.0", instructions="A shop for host tests.")
        server.add(QUOTE, self.quote)
        server.add(ORDER, self.order)
        server.add(FLAKY, self.flaky)
        return server

    async def quote(self, ctx: CallContext, args: QuoteInput) -> QuoteOutput:
        self.calls.append(f"quote:{args.item}")
        return QuoteOutput(item=args.item, price=12.5)

    async def order(self, ctx: CallContext, args: OrderInput) -> OrderOutput:
        self.calls.append(f"order:{args.item}")
        if args.idempotency_key in self.orders:
            return OrderOutput(order_number=self.orders[args.idempotency_key]["number"], created=False)
        number = f"45{len(self.orders) + 1:08d}"
        self.orders[args.idempotency_key] = {"number": number, "item": args.item,
                                             "quantity": args.quantity, "user": ctx.user}
        return OrderOutput(order_number=number, created=True)

    async def flaky(self, ctx: CallContext, args: FlakyInput) -> QuoteOutput:
        self.calls.append(f"flaky:{args.key}")
        left = self.failures_left.get(args.key, 0)
        if left:
            self.failures_left[args.key] = left - 1
            raise UpstreamUnavailable("The shop backend is busy.", retry_after_s=0.05)
        return QuoteOutput(item=args.key, price=1.0)


QUOTE = ToolSpec(
    name="shop.quote", description="Price of one item in the test shop.",
    input_model=QuoteInput, output_model=QuoteOutput,
    examples=({"item": "bolt"}, {"item": "nut"}), errors=frozenset({ErrorCategory.VALIDATION}),
    risk=Risk.READ, data_class=DataClass.I)
ORDER = ToolSpec(
    name="shop.order", description="Order items from the test shop; returns the order number.",
    input_model=OrderInput, output_model=OrderOutput,
    examples=({"item": "bolt", "quantity": 2, "net_price": 1.0, "idempotency_key": "k-00000001"},
              {"item": "nut", "quantity": 900, "net_price": 12.5, "idempotency_key": "k-00000002"}),
    errors=frozenset({ErrorCategory.VALIDATION}), risk=Risk.WRITE_HIGH, data_class=DataClass.I)
FLAKY = ToolSpec(
    name="shop.flaky", description="A read that fails with a retryable error a set number of times.",
    input_model=FlakyInput, output_model=QuoteOutput,
    examples=({"key": "a"}, {"key": "b"}), errors=frozenset({ErrorCategory.UPSTREAM_UNAVAILABLE}),
    risk=Risk.READ, data_class=DataClass.I)

SHOP_POLICY = """\
version: 1
servers:
  shop:
    description: The host tests' shop.
    trust: trusted
    sandbox: {mode: "off"}
rules:
  - name: shop-orders-over-100
    effect: require_approval
    tools: [shop.order]
    when: quantity * net_price > 100
    approval: {approvers: [approver], expires_after: 1h}
    reason: Shop orders over 100 need an approver.
  - name: shop-no-plutonium
    effect: deny
    tools: [shop.order]
    when: item == "plutonium"
    reason: The shop does not sell plutonium.
"""
