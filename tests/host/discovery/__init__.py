"""Tests of tool discovery: catalog, hybrid search, abstention, run toolsets, the eval."""
