"""Every way a call to the MES can fail, mapped to the taxonomy in one place: `map_mes_errors`.

The mapping itself is the kit's (`mcp_servers/kit/connectors/http_errors.py`:
status 400/422 validation, 401 auth, 403 forbidden, 404 not_found, 409/412
conflict, 429 rate_limited, 504 and timeouts upstream_timeout, other 5xx and
transport failures upstream_unavailable, egress refusals policy_denied,
anything else internal). The MES's message is the RFC 9457 problem `detail`
(read by `client.py`); a conflict there is usually a state the order is in.
"""

from __future__ import annotations

import logging

from mcp_servers.kit.connectors.http_errors import (
    HttpErrorMap,
    MalformedResponse,
    UpstreamStatusError,
)
from mcp_servers.mes.connections import MES

MesStatusError = UpstreamStatusError  # the kit's; the name says where it comes from
ERRORS = HttpErrorMap(MES, logging.getLogger("tessera.mes"), conflict_default="the state changed",
                      conflict_hint="Read the object again; the change may be unnecessary or "
                      "need a different action.")
map_mes_errors = ERRORS.errors

__all__ = ["ERRORS", "MalformedResponse", "MesStatusError", "map_mes_errors"]
