"""Every way a call to SAP can fail, mapped to the taxonomy in one place: `map_odata_errors`.

The mapping itself is the kit's (`mcp_servers/kit/connectors/http_errors.py`:
status 400/422 validation, 401 auth, 403 forbidden, 404 not_found, 429
rate_limited, 504 and timeouts upstream_timeout, other 5xx and transport
failures upstream_unavailable, egress refusals policy_denied, anything else
internal). SAP differs in two places: 428 (Precondition Required, a write
without If-Match) is a conflict like 409 and 412, and SAP's own message comes
from the OData error body (`error.message.value`, read by `odata.py`).
"""

from __future__ import annotations

import logging

from mcp_servers.kit.connectors.http_errors import (
    HttpErrorMap,
    MalformedResponse,
    UpstreamStatusError,
)
from mcp_servers.sap.connections import SAP

ODataStatusError = UpstreamStatusError  # the kit's; the name says where it comes from
ERRORS = HttpErrorMap(SAP, logging.getLogger("tessera.sap"), body_format="OData JSON",
                      conflict_statuses=frozenset({409, 412, 428}))
map_odata_errors = ERRORS.errors

__all__ = ["ERRORS", "MalformedResponse", "ODataStatusError", "map_odata_errors"]
