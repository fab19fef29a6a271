"""Pages. Views read through the apps' query helpers and change state only by calling services."""
