"""The console's pages, one module per area; each route filters by the signed-in person's libraries."""
