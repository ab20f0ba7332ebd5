"""The REST API (`/api/v1/`): routing decisions, remote clients' endpoints, rollouts, registry."""
