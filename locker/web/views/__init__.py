"""Browser pages, one module per area. Views are adapters: check access, validate a form,
call a service, render."""
