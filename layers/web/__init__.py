"""Flask wiring every feature shares: request context, errors, hardening, the OpenAPI document."""
