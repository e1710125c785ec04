"""The security team's policy files (YAML in this folder) and the policy decision point.

They arrive with the sandbox/policies issue.
"""
