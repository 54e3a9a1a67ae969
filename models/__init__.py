"""Small models that the optimizer studies train."""
