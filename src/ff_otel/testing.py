"""pytest plugin for users testing their own instrumentation (registered via ``pytest11``)."""
