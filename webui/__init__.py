"""The browser admin UI: server-rendered Django templates with htmx."""
