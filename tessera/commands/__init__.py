"""One module per `tessera` subcommand; each has `register(subparsers)`."""
