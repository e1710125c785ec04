"""`tessera keys` and `tessera token`: call-context keys, and tokens for direct MCP clients."""

from __future__ import annotations

import argparse

from tessera import runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="manage the call-context signing keys")
    commands = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    init = commands.add_parser(
        "init", help="generate an ES256 key pair under data_dir/keys (development)"
    )
    init.add_argument("--force", action="store_true", help="replace existing keys")
    init.set_defaults(run=_init)


def register_token(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "token",
        help="sign a call-context token for a direct MCP client",
        description="Sign a call-context JWT with the signing key, e.g. for MCP Inspector: "
        "send it as `Authorization: Bearer <token>`.",
    )
    parser.add_argument("--audience", required=True, help="the server it is for, e.g. memory")
    parser.add_argument("--tenant", required=True, help="tenant the caller acts for")
    parser.add_argument("--user", required=True, help="the user (JWT sub)")
    parser.add_argument("--roles", default="", help="comma-separated roles, e.g. viewer,admin")
    parser.add_argument(
        "--clearance", default="II", choices=["I", "II", "III", "IV"], help="highest data class"
    )
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    parser.set_defaults(run=_token)


def _init(args: argparse.Namespace) -> int:
    from mcp_servers.kit.context import generate_key_pair

    settings = runtime.load_settings()
    if settings.signing_key_path.exists() and not args.force:
        print(f"keys exist: {settings.signing_key_path} (use --force to replace them)")
        return 0
    private, public = generate_key_pair(settings.keys_dir)
    print(f"signing key:       {private}\nverification keys: {public}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from mcp_servers.kit.context import CallContext, ContextSigner
    from mcp_servers.kit.spec import DataClass

    settings = runtime.load_settings()
    runtime.ensure_dev_keys(settings)
    signer = ContextSigner.from_settings(settings)
    context = CallContext(
        tenant=args.tenant,
        user=args.user,
        roles=tuple(role for role in args.roles.split(",") if role),
        clearance=DataClass(args.clearance),
    )
    print(signer.sign(context, audience=args.audience, ttl_s=args.ttl))
    return 0
